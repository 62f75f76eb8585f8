import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parseArgs } from 'node:util';
import { readBody, startJsonServer, type Reply } from '../https-server';
import { DEFAULT_LIMITS, executeScript, runningConfig, type CliLimits } from './cli';
import { addDialPlan, createSbcState, type SbcState } from './state';

export { addDialPlan, type DialPlan, type DialPlanRule, type SbcState } from './state';

/** The device's identity, as `GET /api/v1/status` reports it. */
export interface SbcIdentity {
  productType: string;
  versionID: string;
  serialNumber: string;
  macAddress: string;
  ipAddress: string;
  subnetMask: string;
  defaultGateway: string;
}

export interface SbcSimulatorOptions {
  tls: { cert: string; key: string };
  port?: number;
  /** The one REST user (the device's Security Administrator). */
  username: string;
  password: string;
  identity?: Partial<SbcIdentity>;
  limits?: Partial<CliLimits>;
}

export interface SbcSimulator {
  url: string;
  stop(): Promise<void>;
  /** The device's live state, for tests to read or arrange. */
  state: SbcState;
  /** Creates a dial plan (the provider's one-time setup of the device). */
  addDialPlan(name: string): void;
}

type Handler = (req: IncomingMessage) => Reply | Promise<Reply>;

const DEFAULT_IDENTITY: SbcIdentity = {
  productType: 'Mediant VE SBC',
  versionID: '7.40A.500.123',
  serialNumber: '10178023505966',
  macAddress: '00908f6e7e1d',
  ipAddress: '127.0.0.1',
  subnetMask: '255.0.0.0',
  defaultGateway: '0.0.0.0',
};

export async function startSbcSimulator(options: SbcSimulatorOptions): Promise<SbcSimulator> {
  const identity = { ...DEFAULT_IDENTITY, ...options.identity };
  const state = createSbcState();
  const expected = digest(`${options.username}:${options.password}`);

  // One entry per "METHOD /path"; the CLI-script endpoints join this table.
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const routes = new Map<string, Handler>([
    [
      'GET /api/v1/files/cliScript',
      () => ({ status: 200, raw: { body: runningConfig(state), contentType: 'application/octet-stream' } }),
    ],
    [
      'PUT /api/v1/files/cliScript/incremental',
      async (req) => {
        const script = await scriptFrom(req);
        if (script === undefined) {
          return {
            status: 400,
            body: { status: 'failure', description: 'Expected multipart/form-data with a "file" part' },
          };
        }
        if (state.busy) {
          state.uploads.push({ script, status: 409, at: Date.now() });
          return { status: 409, body: { status: 'failure', description: 'Device is busy, try again later' } };
        }
        const result = executeScript(state, script, limits);
        const status = result.ok ? 200 : 400;
        state.uploads.push({ script, status, at: Date.now() });
        return result.ok
          ? {
              status,
              body: {
                status: 'success',
                description: 'CLI Script was applied successfully',
                output: result.output,
              },
            }
          : {
              status,
              body: { status: 'failure', description: 'Incorrect CLI script', output: result.output },
            };
      },
    ],
    [
      'POST /api/v1/actions/saveConfiguration',
      () => {
        if (state.busy) return { status: 409, body: { description: 'Device is busy' } };
        state.saveNeeded = false;
        state.saves++;
        return { status: 200, body: { description: 'Configuration saved' } };
      },
    ],
    [
      'GET /api/v1/status',
      () => ({
        status: 200,
        body: {
          localTimeStamp: new Date().toISOString(),
          ipAddress: identity.ipAddress,
          subnetMask: identity.subnetMask,
          defaultGateway: identity.defaultGateway,
          productType: identity.productType,
          versionID: identity.versionID,
          protocolType: 'SIP',
          operationalState: state.operationalState,
          highAvailability: 'Not Operational',
          serialNumber: identity.serialNumber,
          macAddress: identity.macAddress,
          systemUpTime: Math.floor((Date.now() - state.startedAt) / 1000),
          saveNeeded: state.saveNeeded,
          resetNeeded: state.resetNeeded,
          upgradeStatus: 'None',
        },
      }),
    ],
  ]);

  async function handle(req: IncomingMessage): Promise<Reply> {
    if (state.unreachable) {
      // As a device that is down: the connection ends without an answer.
      req.socket.destroy();
      return { status: 503 };
    }
    if (!authorized(req.headers.authorization)) {
      return { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="SBC"' } };
    }
    const upload = req.method === 'PUT';
    if (upload) {
      state.uploadsInFlight++;
      state.maxUploadsInFlight = Math.max(state.maxUploadsInFlight, state.uploadsInFlight);
    }
    try {
      if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      return await route(req);
    } finally {
      if (upload) state.uploadsInFlight--;
    }
  }

  async function route(req: IncomingMessage): Promise<Reply> {
    const pathname = new URL(req.url ?? '/', 'https://sbc').pathname.replace(/\/+$/, '');
    const handler = routes.get(`${req.method} ${pathname}`);
    if (handler) return handler(req);
    const known = [...routes.keys()].some((k) => k.endsWith(` ${pathname}`));
    return known
      ? { status: 405, body: { description: `${req.method} is not supported on ${pathname}` } }
      : { status: 404, body: { description: `${pathname} not found` } };
  }

  /** HTTP Basic, compared in constant time (on digests, so lengths never leak). */
  function authorized(header: string | undefined): boolean {
    const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
    if (!m) return false;
    return timingSafeEqual(digest(Buffer.from(m[1] ?? '', 'base64').toString('utf8')), expected);
  }

  const server = await startJsonServer(
    { tls: options.tls, port: options.port, send: { contentType: 'application/json' } },
    handle,
    (e) => ({ status: 500, body: { description: e instanceof Error ? e.message : String(e) } }),
  );
  return {
    url: server.url,
    state,
    stop: () => server.close(),
    addDialPlan: (name) => addDialPlan(state, name),
  };
}

/** The `file` part of a multipart/form-data upload, as text (undefined when there is none). */
async function scriptFrom(req: IncomingMessage): Promise<string | undefined> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(req.headers['content-type'] ?? '');
  const body = await readBody(req, 4 * 1024 * 1024);
  if (!boundary || !body) return undefined;
  const marker = `--${boundary[1] ?? boundary[2] ?? ''}`;
  for (const part of body.toString('utf8').split(marker)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split);
    if (!/content-disposition:[^\r\n]*\bname="file"/i.test(head)) continue;
    return part.slice(split + 4).replace(/\r\n$/, '');
  }
  return undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, username: { type: 'string' }, password: { type: 'string' } },
  });
  import('../tls/certs')
    .then(({ ensureDevCertificates }) => ensureDevCertificates())
    .then(({ cert, key }) =>
      startSbcSimulator({
        tls: { cert, key },
        port: Number(values.port ?? process.env.SBC_PORT ?? 0),
        username: values.username ?? process.env.SBC_USERNAME ?? 'Admin',
        password: values.password ?? process.env.SBC_PASSWORD ?? 'Admin',
      }),
    )
    .then(
      (sbc) => console.log(sbc.url),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
}
