import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { msRequestId, readBody, startJsonServer, type Reply } from '../https-server';
import { renderEml, type EmailRequest } from './eml';
import { hmacProblem } from './hmac';
import { emailProblem } from './validate';

export { readOutbox, parseEml, type EmailRequest, type OutboxMessage } from './eml';

export interface EmailFailure {
  code: string;
  message: string;
}

/** A failure for every message, or a rule that picks the messages that fail. */
export type FailWith = EmailFailure | ((request: EmailRequest) => EmailFailure | undefined);

export interface EmailSimulatorOptions {
  tls: { cert: string; key: string };
  port?: number;
  /** The resource's access key, base64, as in the connection string. */
  accessKey: string;
  /** Where each delivered message is written as `<ISO time>-<operation id>.eml` (colons as dashes). */
  outboxDir: string;
  /** Makes send operations end in status Failed (nothing is written for those). */
  failWith?: FailWith;
  /** How many status polls answer Running before the final status (default 1, as the service usually does). */
  runningPolls?: number;
  /** The retry-after (seconds) sent while an operation runs; 0 lets the SDK poll at its own interval. */
  retryAfterSeconds?: number;
}

export interface AcceptedEmail {
  operationId: string;
  /** Status polls answered so far. */
  polls: number;
  receivedAt: Date;
  request: EmailRequest;
  status: 'Succeeded' | 'Failed';
  error?: EmailFailure;
  /** The outbox file, for a delivered message. */
  file?: string;
}

export interface EmailSimulator {
  /** The resource endpoint, e.g. https://127.0.0.1:PORT */
  url: string;
  /** `endpoint=<url>/;accesskey=<key>`, for `new EmailClient(connectionString)`. */
  connectionString: string;
  stop(): Promise<void>;
  /** The requests the service accepted (202), oldest first. */
  messages(): AcceptedEmail[];
  /** Changes which sends fail from now on; undefined makes them all succeed again. */
  setFailure(failWith: FailWith | undefined): void;
}

/** The service caps a request, attachments included, at 10 MB. */
const MAX_BODY = 10 * 1024 * 1024;

export async function startEmailSimulator(options: EmailSimulatorOptions): Promise<EmailSimulator> {
  const key = Buffer.from(options.accessKey, 'base64');
  if (key.length === 0) throw new Error('accessKey must be a non-empty base64 string');
  mkdirSync(options.outboxDir, { recursive: true });
  let failWith = options.failWith;
  const operations = new Map<string, AcceptedEmail>();
  const runningPolls = options.runningPolls ?? 1;
  const retryAfter = { 'retry-after': String(options.retryAfterSeconds ?? 0) };

  const server = await startJsonServer(
    { tls: options.tls, port: options.port, send: { headers: msRequestId } },
    handle,
    (e) => error(500, 'InternalServerError', e instanceof Error ? e.message : String(e)),
  );
  const endpoint = server.url;

  async function handle(req: IncomingMessage): Promise<Reply> {
    const body = await readBody(req, MAX_BODY);
    if (body === undefined) return error(413, 'RequestEntityTooLarge', 'The request is larger than 10 MB.');
    const pathAndQuery = req.url ?? '/';
    const denied = hmacProblem(
      { method: req.method ?? 'GET', pathAndQuery, headers: req.headers, body },
      key,
    );
    if (denied) return error(401, 'Denied', denied);
    const url = new URL(pathAndQuery, endpoint);
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion)
      return error(400, 'ApiVersionUnspecified', 'An API version is required, but was not specified.');

    if (req.method === 'POST' && url.pathname === '/emails:send') {
      let request: unknown;
      try {
        request = JSON.parse(body.toString('utf8'));
      } catch {
        return error(400, 'BadRequest', 'The request body is not valid JSON.');
      }
      const problem = emailProblem(request);
      if (problem) return error(400, 'BadRequest', problem);
      const given = header(req, 'operation-id') ?? header(req, 'repeatability-request-id');
      if (given !== undefined && !/^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(given)) {
        return error(400, 'BadRequest', 'Operation-Id must be a UUID.');
      }
      // A repeated Operation-Id is the same operation: answered again, not sent twice. The client
      // chooses the id (Email REST API 2023-03-31, `Operation-Id` header of POST /emails:send: "the ID
      // provided by the customer to identify the long running operation"; azure-rest-api-specs
      // specification/communication/data-plane/Email/stable/2023-03-31) precisely so that a send
      // submitted again is not processed twice (the SDKs expose it for idempotency:
      // Azure/azure-sdk-for-net#40779); GET /emails/operations/{id} answers 404 for an id it never saw.
      const operation = operations.get(given?.toLowerCase() ?? '') ?? accept(request as EmailRequest, given);
      const repeatability: Record<string, string> =
        header(req, 'repeatability-request-id') !== undefined ? { 'Repeatability-Result': 'accepted' } : {};
      return {
        status: 202,
        body: { id: operation.operationId, status: 'Running' },
        headers: {
          'Operation-Location': `${endpoint}/emails/operations/${operation.operationId}?api-version=${encodeURIComponent(apiVersion)}`,
          ...retryAfter,
          ...repeatability,
        },
      };
    }
    const poll = /^\/emails\/operations\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && poll) {
      const operation = operations.get(decodeURIComponent(poll[1] ?? '').toLowerCase());
      if (!operation) return error(404, 'NotFound', `Operation ${poll[1]} was not found.`);
      const { operationId: id, status, error: err } = operation;
      if (++operation.polls <= runningPolls)
        return { status: 200, body: { id, status: 'Running' }, headers: retryAfter };
      return { status: 200, body: { id, status, ...(err ? { error: err } : {}) } };
    }
    return error(404, 'NotFound', `No route for ${req.method} ${url.pathname}.`);
  }

  function accept(request: EmailRequest, given: string | undefined): AcceptedEmail {
    const operationId = given?.toLowerCase() ?? randomUUID();
    const receivedAt = new Date();
    const failure = typeof failWith === 'function' ? failWith(request) : failWith;
    const accepted: AcceptedEmail = failure
      ? { operationId, polls: 0, receivedAt, request, status: 'Failed', error: failure }
      : {
          operationId,
          polls: 0,
          receivedAt,
          request,
          status: 'Succeeded',
          file: writeOutbox(request, operationId, receivedAt),
        };
    operations.set(operationId, accepted);
    return accepted;
  }

  /** Written under a temporary name and renamed, so a reader never sees half a message. */
  function writeOutbox(request: EmailRequest, operationId: string, date: Date): string {
    const host = request.senderAddress.split('@')[1] ?? 'localhost';
    const file = path.join(options.outboxDir, `${date.toISOString().replace(/:/g, '-')}-${operationId}.eml`);
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, renderEml(request, { operationId, date, host }));
    renameSync(tmp, file);
    return file;
  }

  return {
    url: endpoint,
    connectionString: `endpoint=${endpoint}/;accesskey=${options.accessKey}`,
    stop: () => server.close(),
    messages: () => [...operations.values()].sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime()),
    setFailure(f) {
      failWith = f;
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function error(status: number, code: string, message: string): Reply {
  return { status, body: { error: { code, message } }, headers: { 'x-ms-error-code': code } };
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, outbox: { type: 'string' }, 'access-key': { type: 'string' } },
  });
  const accessKey =
    values['access-key'] ?? process.env.EMAIL_ACCESS_KEY ?? randomBytes(32).toString('base64');
  import('../tls/certs')
    .then(({ ensureDevCertificates }) => ensureDevCertificates())
    .then(({ cert, key }) =>
      startEmailSimulator({
        tls: { cert, key },
        port: Number(values.port ?? process.env.EMAIL_PORT ?? 0),
        accessKey,
        outboxDir: path.resolve(values.outbox ?? process.env.EMAIL_OUTBOX_DIR ?? '.local/outbox'),
      }),
    )
    .then(
      (email) => {
        console.log(email.url);
        console.log(email.connectionString);
      },
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
}
