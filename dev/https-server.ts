import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** The https plumbing the local simulators share: listen on loopback, answer each request with JSON. */

/** One answer: a status, a JSON body (none when undefined) and headers of its own. */
export type Reply = {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A body that is not JSON (e.g. a file download), sent as is. */
  raw?: { body: string; contentType: string };
};

export interface JsonServerOptions {
  tls: { cert: string; key: string };
  /** 0 or absent: a free port, reported in `port` and `url`. */
  port?: number;
  /** How replies are written (see sendJson). */
  send?: SendOptions;
}

export interface SendOptions {
  /** The Content-Type of a JSON body; default `application/json; charset=utf-8`. */
  contentType?: string;
  /** Headers for every reply, written first so a reply's own headers win; e.g. msRequestId. */
  headers?: () => Record<string, string>;
}

export interface JsonServer {
  /** `https://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** A fresh `x-ms-request-id`, as Azure services send on every answer. */
export function msRequestId(): Record<string, string> {
  return { 'x-ms-request-id': randomUUID() };
}

/**
 * Listens on 127.0.0.1 and answers each request with what `handle` gives, or, when it throws or
 * rejects, with what `onError` makes of the error (the service's own 500).
 */
export async function startJsonServer(
  options: JsonServerOptions,
  handle: (req: IncomingMessage) => Reply | Promise<Reply>,
  onError: (e: unknown) => Reply,
): Promise<JsonServer> {
  const server = createServer({ cert: options.tls.cert, key: options.tls.key });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    Promise.resolve()
      .then(() => handle(req))
      .then(
        (reply) => sendJson(res, reply, options.send),
        (e: unknown) => sendJson(res, onError(e), options.send),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Writes a reply: the shared headers, Content-Type when there is a body, then the reply's own headers. */
export function sendJson(res: ServerResponse, reply: Reply, options: SendOptions = {}): void {
  const body = reply.raw ? reply.raw.body : reply.body === undefined ? '' : JSON.stringify(reply.body);
  const contentType = reply.raw?.contentType ?? options.contentType ?? 'application/json; charset=utf-8';
  res.writeHead(reply.status, {
    ...options.headers?.(),
    ...(body ? { 'Content-Type': contentType } : {}),
    ...reply.headers,
  });
  res.end(body);
}

/** The raw body, or undefined once it passes `maxBytes` (the rest is not read). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
