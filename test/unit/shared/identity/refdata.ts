import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Microsoft's documented samples, in the team folder beside the project (../shared). */
export function refdata<T>(file: string): T {
  const dir = path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'refdata', 'microsoft');
  return JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as T;
}
