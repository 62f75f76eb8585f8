import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { HttpResponse, type HttpHandler, type HttpRequest, type InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type Host, type LogLine } from '../../../dev/host';
import { ensureDevCertificates } from '../../../dev/tls/certs';
import { http, type AuthLevel, type HttpMethod, type HttpTrigger } from '../../../shared/triggers';

// No queue triggers here, so the storage account is never contacted.
const unusedStorage = 'UseDevelopmentStorage=true';
const keys = { default: 'function-key-1', master: 'master-key-1' };

const seen: { name: string; params: Record<string, string>; body: string; query: string }[] = [];

function recorder(
  name: string,
  route: string,
  methods: HttpMethod[] = ['GET'],
  authLevel: AuthLevel = 'anonymous',
) {
  return http({
    name,
    route,
    methods,
    authLevel,
    handler: async (req: HttpRequest) => {
      const body = await req.text();
      seen.push({ name, params: { ...req.params }, body, query: req.query.toString() });
      return { jsonBody: { name, params: req.params, body, method: req.method } };
    },
  });
}

const triggers: HttpTrigger[] = [
  // The parameter route is listed first on purpose: the literal must still win.
  recorder('invitation', 'authenticate/{invitationId}'),
  recorder('callback', 'authenticate/OAuth2Callback'),
  recorder('item', 'items/{id:int}/{name?}'),
  recorder('itemByGuid', 'things/{id:guid}'),
  recorder('files', 'files/{*path}'),
  recorder('readOnly', 'readonly'),
  recorder('create', 'resource', ['POST']),
  recorder('replace', 'resource', ['PUT']),
  recorder('echo', 'echo', ['GET', 'POST']),
  recorder('keyed', 'keyed', ['GET'], 'function'),
  recorder('adminOnly', 'adminonly', ['GET'], 'admin'),
  http({
    name: 'explode',
    route: 'explode',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: async (_req: HttpRequest, context: InvocationContext) => {
      context.log('about to fail');
      throw new Error('kaboom');
    },
  }),
  http({
    name: 'rich',
    route: 'rich',
    methods: ['POST'],
    authLevel: 'anonymous',
    handler: async () => ({
      status: 201,
      jsonBody: { created: true, n: 1 },
      headers: { 'x-custom': 'yes', location: '/rich/1' },
      cookies: [
        {
          name: 'session',
          value: 'abc 123',
          httpOnly: true,
          secure: true,
          path: '/',
          sameSite: 'Lax',
          maxAge: 60,
        },
        { name: 'theme', value: 'dark' },
      ],
    }),
  }),
  http({
    name: 'headersObject',
    route: 'headers-object',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: async () =>
      new HttpResponse({ status: 202, body: 'plain text', headers: new Headers({ 'x-from': 'headers' }) }),
  }),
  http({
    name: 'bytes',
    route: 'bytes',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: async () => ({
      body: new Uint8Array([0, 1, 2, 255]),
      headers: { 'content-type': 'application/octet-stream' },
    }),
  }),
  http({
    name: 'stream',
    route: 'stream',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: async () => ({ body: Readable.from([Buffer.from('chunk1-'), Buffer.from('chunk2')]) }),
  }),
  http({
    name: 'nothing',
    route: 'nothing',
    methods: ['DELETE'],
    authLevel: 'anonymous',
    // The types demand a response; plain JavaScript handlers can still return nothing.
    handler: (async () => undefined) as unknown as HttpHandler,
  }),
  http({
    name: 'setting',
    route: 'setting',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: async () => ({ body: process.env.SWITCHBOARD_TEST_SETTING ?? '(unset)' }),
  }),
];

describe('local Functions host: HTTP', () => {
  let host: Host;
  const lines: LogLine[] = [];

  beforeAll(async () => {
    const tls = await ensureDevCertificates();
    host = await startHost({
      triggers,
      port: 0,
      hostJson: { extensions: { http: { routePrefix: '' } } },
      functionKeys: keys,
      storageConnectionString: unusedStorage,
      settings: { SWITCHBOARD_TEST_SETTING: 'from settings' },
      tls,
      log: (line) => lines.push(line),
    });
  });
  afterAll(async () => {
    await host?.stop();
  });

  const get = (path: string, init?: RequestInit) => fetch(`${host.url}${path}`, init);

  it('serves over https with an empty routePrefix', async () => {
    expect(host.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await get('/readonly');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'readOnly' });
    expect((await get('/api/readonly')).status).toBe(404);
  });

  it('uses the "api" prefix when host.json sets none', async () => {
    const other = await startHost({
      triggers: [recorder('prefixed', 'hello')],
      port: 0,
      hostJson: {},
      functionKeys: keys,
      storageConnectionString: unusedStorage,
      log: () => undefined,
    });
    try {
      expect(other.url.startsWith('http://')).toBe(true);
      expect((await fetch(`${other.url}/api/hello`)).status).toBe(200);
      expect((await fetch(`${other.url}/hello`)).status).toBe(404);
    } finally {
      await other.stop();
    }
  });

  it('passes route parameters, checks constraints and matches without regard to case', async () => {
    const res = await get('/ITEMS/42/Widget%20One');
    expect(await res.json()).toMatchObject({ name: 'item', params: { id: '42', name: 'Widget One' } });
    expect(await (await get('/items/7')).json()).toMatchObject({ name: 'item', params: { id: '7' } });
    expect((await get('/items/seven')).status).toBe(404);
    expect((await get('/items/99999999999')).status).toBe(404); // not an int32
    expect((await get('/things/0f8fad5b-d9cb-469f-a165-70867728950e')).status).toBe(200);
    expect((await get('/things/not-a-guid')).status).toBe(404);
    expect(await (await get('/files/a/b/c.txt')).json()).toMatchObject({ params: { path: 'a/b/c.txt' } });
  });

  it('prefers a literal segment over a parameter', async () => {
    expect(await (await get('/authenticate/OAuth2Callback?code=x')).json()).toMatchObject({
      name: 'callback',
    });
    expect(await (await get('/authenticate/oauth2callback')).json()).toMatchObject({ name: 'callback' });
    expect(await (await get('/authenticate/inv-123')).json()).toMatchObject({
      name: 'invitation',
      params: { invitationId: 'inv-123' },
    });
  });

  it('answers 404, like Azure, when only the method does not match, and dispatches by method', async () => {
    const post = await get('/readonly', { method: 'POST', body: 'x' });
    expect(post.status).toBe(404);
    expect(await post.text()).toBe('');
    expect((await get('/readonly', { method: 'HEAD' })).status).toBe(404);
    expect(await (await get('/resource', { method: 'POST' })).json()).toMatchObject({ name: 'create' });
    expect(await (await get('/resource', { method: 'PUT' })).json()).toMatchObject({ name: 'replace' });
    expect((await get('/resource')).status).toBe(404);
  });

  it('requires a function key in x-functions-key or code', async () => {
    const none = await get('/keyed');
    expect(none.status).toBe(401);
    expect(await none.text()).toBe('');
    expect((await get('/keyed', { headers: { 'x-functions-key': 'wrong' } })).status).toBe(401);
    expect((await get('/keyed?code=wrong')).status).toBe(401);
    expect((await get('/keyed', { headers: { 'x-functions-key': keys.default } })).status).toBe(200);
    expect((await get(`/keyed?code=${keys.default}`)).status).toBe(200);
    expect((await get(`/keyed?code=${keys.master}`)).status).toBe(200);
    // The handler still sees the query, code included, as on Azure.
    expect(seen.at(-1)?.query).toBe(`code=${keys.master}`);
  });

  it('opens admin-level routes only with the master key', async () => {
    expect((await get('/adminonly')).status).toBe(401);
    expect((await get('/adminonly', { headers: { 'x-functions-key': keys.default } })).status).toBe(401);
    expect((await get('/adminonly', { headers: { 'x-functions-key': keys.master } })).status).toBe(200);
  });

  it('turns an exception into 500 with an empty body and logs it with the invocation id', async () => {
    const res = await get('/explode');
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('');
    const failure = lines.find((l) => l.level === 'error' && l.function === 'explode');
    expect(failure?.error).toContain('kaboom');
    expect(failure?.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    const own = lines.find((l) => l.message === 'about to fail');
    expect(own).toMatchObject({
      level: 'information',
      function: 'explode',
      invocationId: failure?.invocationId,
    });
    const access = lines.find((l) => l.message === 'http' && l.path === '/explode');
    expect(access).toMatchObject({ method: 'GET', status: 500, invocationId: failure?.invocationId });
    expect(typeof access?.ms).toBe('number');
  });

  it('writes status, jsonBody, headers and cookies', async () => {
    const res = await get('/rich', { method: 'POST' });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-custom')).toBe('yes');
    expect(res.headers.get('location')).toBe('/rich/1');
    expect(await res.json()).toEqual({ created: true, n: 1 });
    const cookies = res.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    expect(cookies[0]).toBe('session=abc%20123; max-age=60; path=/; secure; samesite=lax; httponly');
    expect(cookies[1]).toBe('theme=dark');
  });

  it('accepts an HttpResponse with a Headers object, bytes, a stream, and no response at all', async () => {
    const text = await get('/headers-object');
    expect(text.status).toBe(202);
    expect(text.headers.get('x-from')).toBe('headers');
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await text.text()).toBe('plain text');
    const bytes = await get('/bytes');
    expect([...new Uint8Array(await bytes.arrayBuffer())]).toEqual([0, 1, 2, 255]);
    expect(await (await get('/stream')).text()).toBe('chunk1-chunk2');
    const nothing = await get('/nothing', { method: 'DELETE' });
    expect(nothing.status).toBe(204);
    expect(await nothing.text()).toBe('');
  });

  it('passes a POST body through and drops a GET body', async () => {
    const posted = await get('/echo', { method: 'POST', body: '{"hello":"world"}' });
    expect(await posted.json()).toMatchObject({ body: '{"hello":"world"}', method: 'POST' });
    // fetch refuses a body on GET; node:https sends one (with an explicit length, or none is framed).
    const getBody = 'a body on a GET';
    const headers = { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(getBody)) };
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`${host.url}/echo`, { method: 'GET', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(getBody);
    });
    expect(status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ name: 'echo', body: '' });
  });

  it('applies app settings to process.env and never logs the query', async () => {
    expect(await (await get('/setting')).text()).toBe('from settings');
    await get(`/keyed?code=${keys.default}`);
    expect(JSON.stringify(lines)).not.toContain(keys.default);
  });

  it('restores process.env on stop', async () => {
    const other = await startHost({
      triggers: [],
      port: 0,
      hostJson: {},
      functionKeys: keys,
      storageConnectionString: unusedStorage,
      settings: { SWITCHBOARD_TEST_OTHER: 'set' },
      log: () => undefined,
    });
    expect(process.env.SWITCHBOARD_TEST_OTHER).toBe('set');
    await other.stop();
    expect(process.env.SWITCHBOARD_TEST_OTHER).toBeUndefined();
  });

  it('rejects a route template it cannot read, naming the trigger', async () => {
    await expect(
      startHost({
        triggers: [recorder('broken', 'a/{id:nonsense}')],
        port: 0,
        hostJson: {},
        functionKeys: keys,
        storageConnectionString: unusedStorage,
        log: () => undefined,
      }),
    ).rejects.toThrow(/HTTP trigger "broken".*unknown route constraint "nonsense"/);
  });
});
