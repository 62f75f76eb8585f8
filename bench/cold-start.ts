import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { bundle } from '../scripts/build';
import { sampleAzureSettings as settings } from '../dev/sample-settings';

/**
 * Cold start: how long a fresh Node process takes to load the function entry, and how big the
 * deployment is, for the esbuild bundle (what we ship) against the straightforward way (the same
 * code transpiled file by file, loading its dependencies from node_modules).
 */
const root = path.resolve(__dirname, '..');
const out = path.join(root, '.local', 'bench');

export interface ColdStartResult {
  bundleBytes: number;
  bundledMs: number;
  unbundledMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function loadMs(entry: string, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `const t=process.hrtime.bigint();require(${JSON.stringify(entry)});console.log(Number(process.hrtime.bigint()-t)/1e6)`,
      ],
      { env: { PATH: process.env.PATH, ...settings }, encoding: 'utf8', cwd: root },
    );
    if (r.status !== 0) throw new Error(`loading ${entry} failed: ${r.stderr}`);
    times.push(Number(r.stdout.trim().split('\n').pop()));
  }
  return median(times);
}

export async function coldStart(runs = 9): Promise<ColdStartResult> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const bundled = path.join(out, 'bundled', 'main.js');
  await bundle(bundled);
  // The straightforward way: every source file transpiled on its own, packages required at run time.
  const unbundledDir = path.join(out, 'unbundled');
  await build({
    entryPoints: ['functions/**/*.ts', 'shared/**/*.ts'],
    outdir: unbundledDir,
    outbase: '.',
    bundle: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'error',
  });
  return {
    bundleBytes: statSync(bundled).size,
    bundledMs: loadMs(bundled, runs),
    unbundledMs: loadMs(path.join(unbundledDir, 'functions', 'main.js'), runs),
  };
}
