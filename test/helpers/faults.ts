import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * Fault injection of the project's own: a TCP proxy in front of a dependency's port (Azurite's
 * tables and queues, the Key Vault, e-mail and Microsoft 365 simulators). The app under test is
 * given the proxy's address instead of the real one; the test then decides when the dependency
 * "goes away" and for how long.
 *
 * - `block()`: every new connection is reset as soon as it arrives (what a client sees when the
 *   service is down: ECONNRESET / socket hang up), idle open connections are reset too, and a
 *   connection waiting for an answer goes silent: no byte passes either way until `unblock()`, when
 *   it carries on (a network partition: the request in flight waits, unless the client gives up
 *   first). `block({ inFlight: 'kill' })` resets those as well: their answers are lost, possibly
 *   after the dependency acted on them (a queue message received that way stays invisible for its
 *   visibility timeout).
 * - `blockFor(ms)`: the same, lifted by itself after `ms` (resolves when lifted).
 * - `killConnections()`: resets the connections that are open now (requests in flight lose their
 *   answer, possibly after the dependency acted on them) without refusing the next ones.
 *
 * Why block rather than kill: Azurite keeps tables in memory and persists them only every few
 * seconds, so killing the emulator loses writes it has already acknowledged; real Table Storage
 * never does that. A test that kills Azurite would blame the app for the emulator's loss. Blocking
 * the path to it models the outage (and the lost answers) without that artefact.
 *
 * The proxy is byte-transparent (TLS passes through), so certificates and hostnames are unchanged:
 * it listens on 127.0.0.1 like the simulators do.
 */
export interface FaultProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  /** The port it forwards to. */
  readonly targetPort: number;
  readonly blocked: boolean;
  /** Connections open right now. */
  readonly open: number;
  /** Connections accepted and forwarded / reset because blocked / reset by killConnections or block. */
  readonly stats: { forwarded: number; refused: number; killed: number };
  block(options?: BlockOptions): void;
  unblock(): void;
  /** Blocks now and unblocks after `ms`; resolves when unblocked. */
  blockFor(ms: number, options?: BlockOptions): Promise<void>;
  /** Resets every open connection (in-flight requests lose their answer); returns how many. */
  killConnections(): number;
  close(): Promise<void>;
}

export interface BlockOptions {
  /** What happens to connections open at the moment of the block: silent until unblocked (default), or reset. */
  inFlight?: 'stall' | 'kill';
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** When each side last sent a byte: the client spoke last = a request is waiting for its answer. */
  clientAt: number;
  upstreamAt: number;
}

export async function startFaultProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
  const open = new Set<Socket>();
  const pairs = new Set<Pair>();
  const stats = { forwarded: 0, refused: 0, killed: 0 };
  let blocked = false;
  let timer: NodeJS.Timeout | undefined;
  let lifted: (() => void) | undefined;

  const reset = (s: Socket) => {
    if (typeof s.resetAndDestroy === 'function' && !s.destroyed) s.resetAndDestroy();
    else s.destroy();
  };

  const server: Server = createServer((client) => {
    if (blocked) {
      stats.refused++;
      client.on('error', () => undefined);
      reset(client);
      return;
    }
    stats.forwarded++;
    const upstream = connect({ port: targetPort, host: targetHost });
    open.add(client);
    open.add(upstream);
    const pair: Pair = { client, upstream, clientAt: 0, upstreamAt: 0 };
    let seq = 0;
    client.on('data', () => (pair.clientAt = ++seq));
    upstream.on('data', () => (pair.upstreamAt = ++seq));
    pairs.add(pair);
    const end = () => {
      open.delete(client);
      open.delete(upstream);
      pairs.delete(pair);
      if (!client.destroyed) reset(client);
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no TCP address');

  const stall = () => {
    for (const pair of [...pairs]) {
      const { client, upstream } = pair;
      if (pair.clientAt <= pair.upstreamAt) {
        // Idle (answered): a service that went away closes it.
        pairs.delete(pair);
        open.delete(client);
        open.delete(upstream);
        reset(client);
        upstream.destroy();
        stats.killed++;
        continue;
      }
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  };
  const resume = () => {
    for (const { client, upstream } of pairs) {
      if (client.isPaused()) client.pipe(upstream);
      if (upstream.isPaused()) upstream.pipe(client);
    }
  };
  const blockNow = (options: BlockOptions = {}) => {
    blocked = true;
    if (options.inFlight === 'kill') killConnections();
    else stall();
  };

  const killConnections = () => {
    let n = 0;
    pairs.clear();
    for (const s of [...open]) {
      open.delete(s);
      if (!s.destroyed) {
        reset(s);
        n++;
      }
    }
    // Each forwarded connection is two sockets.
    const killed = Math.ceil(n / 2);
    stats.killed += killed;
    return killed;
  };

  const unblock = () => {
    blocked = false;
    resume();
    if (timer) clearTimeout(timer);
    timer = undefined;
    lifted?.();
    lifted = undefined;
  };

  return {
    port: address.port,
    targetPort,
    get blocked() {
      return blocked;
    },
    get open() {
      return Math.ceil(open.size / 2);
    },
    stats,
    block: blockNow,
    unblock,
    blockFor(ms, options) {
      blockNow(options);
      if (timer) clearTimeout(timer);
      lifted?.();
      return new Promise<void>((resolve) => {
        lifted = resolve;
        timer = setTimeout(unblock, ms);
      });
    },
    killConnections,
    close: async () => {
      unblock();
      killConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The dependencies a faulty stack puts a proxy in front of. */
export type Dependency = 'tables' | 'queues' | 'keyVault' | 'email' | 'm365';

export interface FaultyStack {
  /** The stack's settings with every proxied dependency's address replaced by its proxy's. */
  settings: Record<string, string>;
  proxies: Record<Dependency, FaultProxy>;
  /** Tables and queues together: "the storage account is unreachable". */
  storage: Pick<FaultProxy, 'block' | 'unblock' | 'blockFor' | 'killConnections'>;
  close(): Promise<void>;
}

const portOf = (url: string) => Number(new URL(url).port);

/**
 * Proxies in front of a local stack's storage, Key Vault, e-mail and Microsoft 365 simulators, and
 * the app settings that send the app through them. `urls` are the stack's real addresses
 * (`inject('stack').urls` or `LocalStack.urls`). Microsoft 365's proxy is only in
 * IDENTITY_ENDPOINT (managed identity tokens) and GRAPH_BASE_URL: the sign-in authority stays
 * direct, because the simulator names itself by its own port in the tokens it issues.
 */
export async function startFaultyStack(
  settings: Record<string, string>,
  urls: Record<'tables' | 'queues' | 'keyVault' | 'email' | 'm365', string>,
): Promise<FaultyStack> {
  const entries = await Promise.all(
    (['tables', 'queues', 'keyVault', 'email', 'm365'] as const).map(
      async (d) => [d, await startFaultProxy(portOf(urls[d]))] as const,
    ),
  );
  const proxies = Object.fromEntries(entries) as Record<Dependency, FaultProxy>;
  const swap = (value: string | undefined, d: Dependency) =>
    (value ?? '').split(`127.0.0.1:${proxies[d].targetPort}`).join(`127.0.0.1:${proxies[d].port}`);
  const out: Record<string, string> = { ...settings };
  out.AzureWebJobsStorage = swap(swap(settings.AzureWebJobsStorage, 'tables'), 'queues');
  out.KEY_VAULT_URL = swap(settings.KEY_VAULT_URL, 'keyVault');
  out.EMAIL_ENDPOINT = swap(settings.EMAIL_ENDPOINT, 'email');
  if (settings.IDENTITY_ENDPOINT) out.IDENTITY_ENDPOINT = swap(settings.IDENTITY_ENDPOINT, 'm365');
  if (settings.GRAPH_BASE_URL) out.GRAPH_BASE_URL = swap(settings.GRAPH_BASE_URL, 'm365');
  const storageProxies = [proxies.tables, proxies.queues];
  return {
    settings: out,
    proxies,
    storage: {
      block: (options) => storageProxies.forEach((p) => p.block(options)),
      unblock: () => storageProxies.forEach((p) => p.unblock()),
      blockFor: async (ms, options) => {
        await Promise.all(storageProxies.map((p) => p.blockFor(ms, options)));
      },
      killConnections: () => storageProxies.reduce((n, p) => n + p.killConnections(), 0),
    },
    close: async () => {
      await Promise.all(Object.values(proxies).map((p) => p.close()));
    },
  };
}
