import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Microsoft's documented samples, copied into the repository (test/fixtures/microsoft/SOURCES.md). */
export function refdata<T>(file: string): T {
  const dir = path.resolve(__dirname, '..', '..', '..', 'fixtures', 'microsoft');
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as T;
}
