import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { HttpTrigger, QueueTrigger, TimerTrigger, Trigger } from '../../shared/triggers';
import { queueSettings, routePrefix, type HostJson } from './config';
import { hostLog, stdoutLog, type Log } from './context';
import { compileHttpRoutes, createRequestListener } from './http';
import type { FunctionKeys } from './keys';
import { startQueueListeners, type QueueStats } from './queues';
import { parseSchedule, startTimers } from './timers';

export type { HostJson } from './config';
export type { Log, LogLine } from './context';
export type { FunctionKeys } from './keys';
export type { QueueStats } from './queues';

/** A local stand-in for the Azure Functions host, serving a list of triggers. See README.md. */
export interface HostOptions {
  triggers: Trigger[];
  /** App settings, put into process.env before any handler runs (and restored by stop()). */
  settings?: Record<string, string>;
  /** Default 7071, like `func start`; 0 picks a free port. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  hostname?: string;
  /** Parsed host.json. */
  hostJson: HostJson;
  /** Key name → key. Every key opens `function`-level routes; only `master` opens `admin` ones. */
  functionKeys: FunctionKeys;
  /** The AzureWebJobsStorage account: queue triggers poll it. */
  storageConnectionString: string;
  /** PEM certificate and key: serve https. Absent: http. */
  tls?: { cert: string; key: string };
  /** Where structured log lines go. Default: one JSON line each to stdout. */
  log?: Log;
  /** Default enabled. Disabled timers still run through runTimer() and the admin API. */
  timers?: { enabled: boolean };
  /** How long a received queue message stays invisible, renewed while it runs. Default 600 (the host's). */
  queueMessageLeaseSeconds?: number;
}

export interface Host {
  /** `http(s)://127.0.0.1:<port>`, without the route prefix. */
  url: string;
  port: number;
  /** Runs a timer trigger now and resolves when it finished; rejects if it threw. */
  runTimer(name: string): Promise<void>;
  /** Counters per queue trigger (by function name). */
  queueStats(): Record<string, QueueStats>;
  /** Stops listening and polling, waits for invocations in progress, restores process.env. */
  stop(): Promise<void>;
}

export async function startHost(options: HostOptions): Promise<Host> {
  const log = options.log ?? stdoutLog;
  const http = options.triggers.filter((t): t is HttpTrigger => t.kind === 'http');
  // A schedule may name an app setting (`%TOKENS_VERIFY_SCHEDULE%`), resolved as the Functions host does.
  const timerTriggers = options.triggers
    .filter((t): t is TimerTrigger => t.kind === 'timer')
    .map((t) => ({ ...t, schedule: resolveSettingReference(t, { ...process.env, ...options.settings }) }));
  const queueTriggers = options.triggers.filter((t): t is QueueTrigger => t.kind === 'queue');

  // Everything that can be wrong with the configuration fails here, before anything starts.
  const names = new Set<string>();
  for (const t of options.triggers) {
    if (names.has(t.name.toLowerCase())) throw new Error(`Two triggers are named "${t.name}"`);
    names.add(t.name.toLowerCase());
  }
  const prefix = routePrefix(options.hostJson);
  compileHttpRoutes(http, prefix);
  timerTriggers.forEach(parseSchedule);
  const queueConfig = queueSettings(options.hostJson);

  const restoreEnv = applySettings({
    AzureWebJobsStorage: options.storageConnectionString,
    ...options.settings,
  });
  const timers = startTimers(timerTriggers, log, options.timers ?? { enabled: true });
  let queues: Awaited<ReturnType<typeof startQueueListeners>> | undefined;
  let server: Server | undefined;
  try {
    queues = await startQueueListeners(queueTriggers, options.storageConnectionString, {
      settings: queueConfig,
      log,
      leaseSeconds: options.queueMessageLeaseSeconds ?? 600,
    });
    const startedQueues = queues;
    const listener = createRequestListener({
      triggers: http,
      routePrefix: prefix,
      keys: options.functionKeys,
      log,
      protocol: options.tls ? 'https' : 'http',
      adminInvoke: (name, input) => {
        const match = options.triggers.find((t) => t.name.toLowerCase() === name.toLowerCase());
        if (!match) return undefined;
        if (match.kind === 'timer') {
          timers.run(match.name).catch(() => undefined); // failures are logged by the timer
          return 'accepted';
        }
        if (match.kind === 'queue') return startedQueues.invoke(match.name, input) ? 'accepted' : undefined;
        return 'not-invocable';
      },
    });
    server = options.tls
      ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
      : createHttpServer(listener);
    await listen(server, options.port ?? 7071, options.hostname ?? '127.0.0.1');
  } catch (e) {
    await Promise.all([timers.stop(), queues?.stop()]);
    restoreEnv();
    throw e;
  }

  const port = (server.address() as AddressInfo).port;
  const url = `${options.tls ? 'https' : 'http'}://${options.hostname ?? '127.0.0.1'}:${port}`;
  hostLog(log, 'information', 'Host started', {
    url,
    routePrefix: prefix,
    functions: options.triggers.map((t) => ({ name: t.name, kind: t.kind })),
  });
  const runningServer = server;
  const runningQueues = queues;
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    runTimer: (name) => timers.run(name),
    queueStats: () => runningQueues.stats(),
    stop: () => {
      stopping ??= (async () => {
        await Promise.all([closeServer(runningServer), runningQueues.stop(), timers.stop()]);
        restoreEnv();
        hostLog(log, 'information', 'Host stopped', { url });
      })();
      return stopping;
    },
  };
}

/** `%NAME%` in a timer's schedule is the app setting NAME; a setting that does not exist stops the host. */
export function resolveSettingReference(
  trigger: TimerTrigger,
  settings: Record<string, string | undefined>,
): string {
  const named = /^%([A-Za-z0-9_]+)%$/.exec(trigger.schedule.trim());
  if (!named) return trigger.schedule;
  const value = settings[named[1]!];
  if (!value) {
    throw new Error(
      `Timer trigger "${trigger.name}": its schedule names the app setting ${named[1]}, which is not set`,
    );
  }
  return value;
}

/** Sets the settings in process.env; the returned function puts the previous values back. */
function applySettings(settings: Record<string, string>): () => void {
  const previous = Object.keys(settings).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, settings);
  return () => {
    for (const [k, v] of previous) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

function listen(server: Server, port: number, hostname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Lets requests in progress finish (up to 10 s), then drops what is left. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), 10_000);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
