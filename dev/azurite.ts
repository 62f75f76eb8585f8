import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from './ports';

/**
 * Azurite's table and queue services as two child processes, over https with the dev certificate
 * (the SDKs refuse an http connection string unless told to allow insecure connections, which the
 * app never does). Blob storage is not started: nothing in the app uses it.
 */
export interface AzuriteOptions {
  /** Default 10002 (Azurite's usual table port); 0 picks a free one. */
  tablePort?: number;
  /** Default 10001 (Azurite's usual queue port); 0 picks a free one. */
  queuePort?: number;
  /** Directory for persisted data; absent = in memory (lost on stop). */
  location?: string;
  tls: { certFile: string; keyFile: string };
  /** How long each service may take to start. Default 30 s. */
  startTimeoutMs?: number;
}

export interface Azurite {
  connectionString: string;
  /** `https://127.0.0.1:<port>/devstoreaccount1` */
  tableUrl: string;
  queueUrl: string;
  tablePort: number;
  queuePort: number;
  /** Closes both gracefully (data written to disk), resolves once both have exited. */
  stop(): Promise<void>;
  /** SIGKILL both at once, without waiting. */
  kill(): void;
}

// Azurite's fixed development account: a well-known key, not a secret.
const accountName = 'devstoreaccount1';
const accountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const binDir = path.resolve(__dirname, '..', 'node_modules', '.bin');
/** How long a closing Azurite may take before it is ended anyway. */
const GIVE_UP_MS = 10_000;

// Preloaded into each Azurite process. Azurite keeps data in memory and writes it to disk every 5 s
// and when it closes on SIGINT (the table service dies on SIGTERM without writing), so SIGINT is the
// only way to stop it without losing the last seconds. Azurite's handler runs once: this permanent
// one makes a second SIGINT harmless instead of killing it mid-write, ends a process that gets
// SIGINT before Azurite has installed its handler, and gives up on a close that hangs. When the
// parent dies without stopping it, its end of the stdin pipe closes and the child closes the same
// way, so no orphaned Azurite keeps the ports. unref() keeps these from holding the child alive.
const watchdog = `
let closing = false;
process.on('SIGINT', () => {
  if (closing) return;
  closing = true;
  if (process.listenerCount('SIGINT') === 1) process.exit(0);
  setTimeout(() => process.exit(1), ${GIVE_UP_MS}).unref();
});
const close = () => process.kill(process.pid, 'SIGINT');
process.stdin.on('end', close);
process.stdin.on('error', close);
process.stdin.resume();
process.stdin.unref();
`;

type Kind = 'table' | 'queue';

interface Service {
  kind: Kind;
  port: number;
  child: ChildProcess;
}

export async function startAzurite(options: AzuriteOptions): Promise<Azurite> {
  const started = await Promise.allSettled([
    startService('table', options.tablePort ?? 10002, options),
    startService('queue', options.queuePort ?? 10001, options),
  ]);
  const services = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failures = started.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failures.length > 0) {
    await Promise.all(services.map(stopService));
    throw new Error(failures.map((e) => e.message).join('\n'));
  }
  const [table, queue] = services as [Service, Service];
  const tableUrl = `https://127.0.0.1:${table.port}/${accountName}`;
  const queueUrl = `https://127.0.0.1:${queue.port}/${accountName}`;
  return {
    connectionString:
      `DefaultEndpointsProtocol=https;AccountName=${accountName};AccountKey=${accountKey};` +
      `TableEndpoint=${tableUrl};QueueEndpoint=${queueUrl}`,
    tableUrl,
    queueUrl,
    tablePort: table.port,
    queuePort: queue.port,
    stop: async () => {
      await Promise.all([stopService(table), stopService(queue)]);
    },
    kill: () => {
      table.child.kill('SIGKILL');
      queue.child.kill('SIGKILL');
    },
  };
}

async function startService(kind: Kind, requestedPort: number, options: AzuriteOptions): Promise<Service> {
  // A port we picked can be taken between freePort() and Azurite binding it: pick again then. A
  // port the caller asked for is reported as taken instead.
  for (let attempt = 1; ; attempt++) {
    const port = requestedPort === 0 ? await freePort() : requestedPort;
    try {
      return await spawnService(kind, port, options);
    } catch (e) {
      if (requestedPort !== 0 || attempt >= 3 || !/EADDRINUSE/.test(String(e))) throw e;
    }
  }
}

function spawnService(kind: Kind, port: number, options: AzuriteOptions): Promise<Service> {
  const args = [
    '--import',
    `data:text/javascript,${encodeURIComponent(watchdog)}`,
    path.join(binDir, `azurite-${kind}`),
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--loose',
    `--${kind}Host`,
    '127.0.0.1',
    `--${kind}Port`,
    String(port),
    '--cert',
    options.tls.certFile,
    '--key',
    options.tls.keyFile,
    ...(options.location === undefined ? ['--inMemoryPersistence'] : ['--location', options.location]),
  ];
  // A process group of its own: Ctrl-C in a terminal signals the whole foreground group, and Azurite
  // would close at once, under a function host still finishing its work. The launcher stops it last.
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
  });
  // A parent that exits without stop() still lets Azurite write its data; the child outlives it briefly.
  const closeOnExit = (): void => {
    child.kill('SIGINT');
  };
  process.on('exit', closeOnExit);
  child.once('exit', () => process.off('exit', closeOnExit));

  let stdout = '';
  let stderr = '';
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  return new Promise<Service>((resolve, reject) => {
    const fail = (why: string): void => {
      cleanup();
      child.kill('SIGKILL');
      const output = (stderr.trim() || stdout.trim()).slice(-2000);
      reject(new Error(`Azurite ${kind} service did not start on 127.0.0.1:${port}: ${why}\n${output}`));
    };
    const onStdout = (chunk: Buffer): void => {
      stdout += chunk.toString();
      // The table service prints "successfully started", the queue service "successfully listens".
      if (/successfully (started|listens)/.test(stdout)) {
        cleanup();
        // Keep draining both pipes: a full pipe would block Azurite's logging.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ kind, port, child });
      }
    };
    const onStderr = (chunk: Buffer): void => {
      stderr += chunk.toString();
    };
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`it exited (${signal ?? `code ${code}`})`);
    const onError = (e: Error): void => fail(e.message);
    const timer = setTimeout(() => fail(`no "successfully started" within ${timeoutMs} ms`), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onStdout);
      child.stderr?.off('data', onStderr);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.stdout?.on('data', onStdout);
    child.stderr?.on('data', onStderr);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function stopService({ child }: Service): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    // The watchdog ends a hanging close after GIVE_UP_MS; this is for a child that cannot run it.
    const force = setTimeout(() => child.kill('SIGKILL'), GIVE_UP_MS + 2000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGINT');
  });
}
