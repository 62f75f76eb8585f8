import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Azurite keeps its data in memory and writes it to disk every 5 s and when it closes gracefully, so
 * what `npm start` acknowledged just before Ctrl-C survives only if the launcher lets Azurite close.
 * The launcher runs in a process group of its own here, so the test can signal the whole group as
 * the terminal does on Ctrl-C.
 */
const launcherFile = path.join(__dirname, 'azurite-launcher.ts');
const dirs: string[] = [];
const running: ChildProcess[] = [];

interface Launched {
  child: ChildProcess;
  connectionString: string;
}

function launch(location: string): Promise<Launched> {
  const child = spawn(process.execPath, ['--import', 'tsx', launcherFile, location], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, ...(JSON.parse(line) as { connectionString: string }) });
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`launcher exited (${signal ?? `code ${code}`}) before Azurite listened\n${stderr}`)),
    );
  });
}

/** Signals the launcher's whole process group, as a terminal does on Ctrl-C; resolves on exit. */
function signalGroup({ child }: Launched, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    process.kill(-child.pid!, signal);
  });
}

afterAll(() => {
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('Azurite persisted with --location', () => {
  it.for([
    ['SIGINT', 'Ctrl-C in the terminal'],
    ['SIGTERM', 'kill or a process manager'],
  ] as const)('keeps what it acknowledged just before %s to the process group (%s)', async ([signal]) => {
    const location = mkdtempSync(path.join(tmpdir(), 'switchboard-azurite-'));
    dirs.push(location);

    const first = await launch(location);
    const table = TableClient.fromConnectionString(first.connectionString, 'survivors');
    await table.createTable();
    await table.createEntity({ partitionKey: 'p', rowKey: 'r', note: `written just before ${signal}` });
    const queue = new QueueClient(first.connectionString, 'survivors');
    await queue.create();
    await queue.sendMessage(`sent just before ${signal}`);
    expect(await signalGroup(first, signal)).toBe(0);

    const second = await launch(location);
    try {
      const again = TableClient.fromConnectionString(second.connectionString, 'survivors');
      const entity = await again.getEntity<{ note: string }>('p', 'r');
      expect(entity.note).toBe(`written just before ${signal}`);
      const peeked = await new QueueClient(second.connectionString, 'survivors').peekMessages();
      expect(peeked.peekedMessageItems.map((m) => m.messageText)).toEqual([`sent just before ${signal}`]);
    } finally {
      await signalGroup(second);
    }
  });
});
