import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle } from '../../../scripts/build';
import { sampleAzureSettings as settings } from '../../../dev/sample-settings';

const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-build-'));
const file = path.join(dir, 'main.js');
beforeAll(() => bundle(file));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (file: string, env: Record<string, string>) =>
  spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)})`], {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: dir,
    encoding: 'utf8',
  });

describe('the deployment bundle', () => {
  it('loads in a bare Node process, away from node_modules', () => {
    const r = load(file, settings);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
  });

  it('stops at load with the missing setting named', () => {
    const { APP_CLIENT_ID: _, ...rest } = settings;
    const r = load(file, rest);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('APP_CLIENT_ID: is required');
  });
});
