import { spawn } from 'node:child_process';

/**
 * Runs one bench in a process of its own and returns what it measured. Each bench starts its own local
 * stack; in one process, state that outlives a stack (managed identity tokens cached per process by
 * MSAL, the services singleton, process.env) would carry one stack's identity into the next.
 */
export function isolated<T>(name: 'sbc' | 'tokens' | 'notifications' | 'replication'): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/isolated-child.ts', name], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.trim().split('\n');
      const line = lines.pop() ?? '';
      // What the bench said on the way (progress, its own tables) stays visible.
      if (lines.some((l) => l.trim())) console.log(lines.join('\n'));
      if (code !== 0) return reject(new Error(`bench ${name} exited with ${code}`));
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`bench ${name} printed no result`));
      }
    });
  });
}
