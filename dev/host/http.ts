import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpRequest, HttpResponse, type Cookie, type HttpResponseInit } from '@azure/functions';
import type { HttpTrigger } from '../../shared/triggers';
import { createInvocationContext, hostLog, type Log } from './context';
import { isAuthorized, presentedKey, type FunctionKeys } from './keys';
import {
  byPrecedence,
  compileRoute,
  matchRoute,
  splitPath,
  type CompiledRoute,
  type RouteParams,
} from './routing';

/** What the admin API can do to a non-HTTP function; `undefined` when no such function exists. */
export type AdminInvoke = (functionName: string, input: string) => 'accepted' | 'not-invocable' | undefined;

export interface HttpOptions {
  triggers: HttpTrigger[];
  routePrefix: string;
  keys: FunctionKeys;
  log: Log;
  protocol: 'http' | 'https';
  adminInvoke: AdminInvoke;
}

// The Functions host refuses request bodies over 100 MB with 413.
const maxBodyBytes = 100 * 1024 * 1024;

export function compileHttpRoutes(
  triggers: HttpTrigger[],
  routePrefix: string,
): CompiledRoute<HttpTrigger>[] {
  return triggers
    .map((t) => {
      const template = [routePrefix, t.route].filter((p) => p !== '').join('/');
      try {
        return compileRoute(template, t);
      } catch (e) {
        throw new Error(`HTTP trigger "${t.name}": ${(e as Error).message}`);
      }
    })
    .sort(byPrecedence);
}

export function createRequestListener(
  options: HttpOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const routes = compileHttpRoutes(options.triggers, options.routePrefix);
  return (req, res) => {
    const started = performance.now();
    const line: Record<string, unknown> = {};
    handle(options, routes, req, res, line)
      .catch((e: unknown) => {
        // Only reached when writing the response failed (e.g. the client went away).
        hostLog(options.log, 'error', `Response failed: ${(e as Error).message}`, line);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      })
      .finally(() => {
        hostLog(options.log, 'information', 'http', {
          method: req.method,
          // The path only: the query may carry a function key in `code`.
          path: safePathname(req.url),
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
          ...line,
        });
      });
  };
}

async function handle(
  options: HttpOptions,
  routes: CompiledRoute<HttpTrigger>[],
  req: IncomingMessage,
  res: ServerResponse,
  line: Record<string, unknown>,
): Promise<void> {
  const url = new URL(req.url ?? '/', `${options.protocol}://${req.headers.host ?? 'localhost'}`);
  const method = (req.method ?? 'GET').toUpperCase();
  const segments = splitPath(url.pathname);
  if (segments === undefined) return void res.writeHead(400).end();

  // The host's own API lives under /admin whatever the routePrefix; functions cannot use it.
  if (segments[0]?.toLowerCase() === 'admin') return admin(options, req, res, url, segments, line);

  const found = findRoute(routes, segments, method);
  // Azure answers 404 (not 405) when the path matches but the method does not.
  if (!found) return void res.writeHead(404).end();
  const { trigger, params } = found;
  line.function = trigger.name;
  if (!isAuthorized(trigger.authLevel, presentedKey(req.headers, url.searchParams), options.keys)) {
    return void res.writeHead(401).end();
  }
  const body = await readBody(req);
  if (body === 'too-large') return void res.writeHead(413, { connection: 'close' }).end();

  const headers = flattenHeaders(req);
  const request = new HttpRequest({
    method,
    url: url.toString(),
    headers,
    params,
    // GET and HEAD carry no body in the real host either.
    body: method === 'GET' || method === 'HEAD' || body.length === 0 ? undefined : { bytes: body },
  });
  const invocationId = randomUUID();
  line.invocationId = invocationId;
  const context = createInvocationContext({
    functionName: trigger.name,
    invocationId,
    triggerType: 'httpTrigger',
    triggerMetadata: { ...params, query: Object.fromEntries(url.searchParams), headers },
    log: options.log,
  });

  let response: HttpResponse;
  try {
    const result: unknown = await trigger.handler(request, context);
    response = toHttpResponse(result);
  } catch (e) {
    // The host hides the error from the caller: 500, empty body; the details go to the log.
    hostLog(options.log, 'error', `Executed '${trigger.name}' (Failed)`, {
      function: trigger.name,
      invocationId,
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    });
    return void res.writeHead(500, { 'content-length': '0' }).end();
  }
  await writeResponse(res, response, method === 'HEAD');
}

function findRoute(
  routes: CompiledRoute<HttpTrigger>[],
  segments: string[],
  method: string,
): { trigger: HttpTrigger; params: RouteParams } | undefined {
  for (const route of routes) {
    const allowed = route.value.methods;
    if (allowed.length > 0 && !allowed.some((m) => m === method)) continue;
    const params = matchRoute(route, segments);
    if (params) return { trigger: route.value, params };
  }
  return undefined;
}

async function admin(
  options: HttpOptions,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  segments: string[],
  line: Record<string, unknown>,
): Promise<void> {
  if (!isAuthorized('admin', presentedKey(req.headers, url.searchParams), options.keys)) {
    return void res.writeHead(401).end();
  }
  const path = segments.map((s) => s.toLowerCase()).join('/');
  if (req.method === 'GET' && path === 'admin/host/status') {
    return void res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ state: 'Running' }));
  }
  if (req.method !== 'POST' || segments.length !== 3 || segments[1]?.toLowerCase() !== 'functions') {
    return void res.writeHead(404).end();
  }
  // Like `POST /admin/functions/{name}` on Azure: body `{ "input": "…" }`, 202 once started.
  const name = segments[2] as string;
  line.function = name;
  const body = await readBody(req);
  if (body === 'too-large') return void res.writeHead(413, { connection: 'close' }).end();
  let input = '';
  if (body.length > 0) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { input?: unknown };
      input = typeof parsed.input === 'string' ? parsed.input : '';
    } catch {
      return void res.writeHead(400).end();
    }
  }
  const outcome = options.adminInvoke(name, input);
  if (outcome === undefined) return void res.writeHead(404).end();
  if (outcome === 'not-invocable') return void res.writeHead(400).end();
  res.writeHead(202).end();
}

function toHttpResponse(result: unknown): HttpResponse {
  if (result instanceof HttpResponse) return result;
  // Returning nothing gives 204 No Content, as the Functions host (2.x and later) does.
  if (result === undefined || result === null) return new HttpResponse({ status: 204 });
  if (typeof result !== 'object') {
    throw new Error(
      'The HTTP response must be an object with optional "body", "status", "headers", "cookies"',
    );
  }
  return new HttpResponse(result as HttpResponseInit);
}

async function writeResponse(res: ServerResponse, response: HttpResponse, head: boolean): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value);
  }
  const cookies = [...response.headers.getSetCookie(), ...response.cookies.map(serializeCookie)];
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  const noBody = response.status === 204 || response.status === 304;
  if (!noBody) res.setHeader('content-length', String(body.length));
  res.writeHead(response.status);
  res.end(head || noBody ? undefined : body);
}

/** A Set-Cookie value the way ASP.NET Core writes it (name and value escaped). */
export function serializeCookie(c: Cookie): string {
  const parts = [`${encodeURIComponent(c.name)}=${encodeURIComponent(c.value)}`];
  if (c.expires !== undefined) parts.push(`expires=${new Date(c.expires).toUTCString()}`);
  if (c.maxAge !== undefined) parts.push(`max-age=${Math.trunc(c.maxAge)}`);
  if (c.domain) parts.push(`domain=${c.domain}`);
  if (c.path) parts.push(`path=${c.path}`);
  if (c.secure) parts.push('secure');
  if (c.sameSite) parts.push(`samesite=${c.sameSite.toLowerCase()}`);
  if (c.httpOnly) parts.push('httponly');
  return parts.join('; ');
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return 'too-large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) return 'too-large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function safePathname(raw: string | undefined): string {
  try {
    return new URL(raw ?? '/', 'http://x').pathname;
  } catch {
    return '?';
  }
}
