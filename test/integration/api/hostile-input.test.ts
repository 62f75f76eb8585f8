import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../../../dev/host';
import { startTestHost, TEST_FUNCTION_KEY } from '../../helpers/host';
import { testSettings } from '../../helpers/stack';

/**
 * What a careless or hostile caller with a function key sends: each gets a 4xx saying what was
 * wrong, never a 5xx (which would raise storage alarms), and nothing is stored.
 */
let host: Host;

beforeAll(async () => {
  host = await startTestHost(testSettings());
});
afterAll(async () => {
  await host?.stop();
});

async function call(
  method: string,
  path: string,
  body?: string | Buffer,
  contentType: string | null = 'application/json',
) {
  const res = await fetch(`${host.url}${path}`, {
    method,
    headers: {
      'x-functions-key': TEST_FUNCTION_KEY,
      ...(body !== undefined && contentType ? { 'content-type': contentType } : {}),
    },
    // A Buffer, so that fetch adds no content type of its own.
    ...(body !== undefined ? { body: Buffer.from(body) } : {}),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are checked field by field
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
}

const json = (v: unknown) => JSON.stringify(v);
const newId = (prefix = 'cust') => `${prefix}-${randomBytes(4).toString('hex')}`;
async function customer(id = newId()) {
  const created = await call(
    'POST',
    '/api/customers',
    json({ id, name: 'Hostile Ltd', adminEmail: 'a@hostile.example' }),
  );
  expect(created.status).toBe(201);
  return id;
}

describe('garbled continuation tokens', () => {
  const garbage = [
    'garbage',
    '%%%',
    Buffer.from('{"nextPartitionKey":1}').toString('base64'),
    Buffer.from('not json').toString('base64'),
    Buffer.from('{"nextPartitionKey":"customer","nextRowKey":"\\u0000\\u0001"}').toString('base64'),
  ];
  // A well-formed token the service never gave out: whatever storage makes of it, not a 5xx.
  const otherPartition = Buffer.from('{"nextPartitionKey":"1!8!b3RoZXI-","nextRowKey":"x"}').toString(
    'base64',
  );
  const routes: [string, string[]][] = [
    ['/api/customers', garbage],
    ['/api/orders/events', garbage],
    ['/api/audit', garbage],
    ['/api/invitations', garbage],
  ];
  it('answers a well-formed foreign token without a 5xx', async () => {
    for (const [route] of routes) {
      const res = await call('GET', `${route}?continuationToken=${encodeURIComponent(otherPartition)}`);
      expect(res.status, route).toBeLessThan(500);
    }
  });
  for (const [route, tokens] of routes) {
    it(`${route} answers 400 naming the token`, async () => {
      for (const token of tokens) {
        const res = await call('GET', `${route}?continuationToken=${encodeURIComponent(token)}`);
        expect(res.status, `${route} ${token}`).toBe(400);
        expect(JSON.stringify(res.body)).toContain('continuationToken');
      }
    });
  }
});

describe('encoded slashes and dots in ids', () => {
  const ids = ['a%2Fb', '..%2F..', '%2F', '..', '%2E%2E', 'a%5Cb', 'a%23b', 'a%3Fb', '%00', 'x'.repeat(300)];
  it('PATCH /api/customers/{id} answers 404, not 503', async () => {
    for (const id of ids) {
      const res = await call('PATCH', `/api/customers/${id}`, json({ name: 'New name' }));
      expect([404, 400], id).toContain(res.status);
    }
  });
  it('GET, invitations and revoke answer 4xx', async () => {
    for (const id of ids) {
      expect((await call('GET', `/api/customers/${id}`)).status, id).toBeLessThan(500);
      expect((await call('POST', `/api/customers/${id}/invitations`)).status, id).toBeLessThan(500);
      expect((await call('POST', `/api/invitations/${id}/revoke`)).status, id).toBeLessThan(500);
      expect((await call('GET', `/api/orders/events/${id}`)).status, id).toBeLessThan(500);
    }
  });
});

describe('customer ids are not case-sensitive', () => {
  it('finds a mixed-case customer’s invitations and audit entries by any case of its id', async () => {
    const id = `PMix-${randomBytes(3).toString('hex')}`;
    await customer(id);
    expect((await call('POST', `/api/customers/${id}/invitations`)).status).toBe(201);
    for (const asked of [id, id.toLowerCase(), id.toUpperCase()]) {
      const invitations = await call('GET', `/api/invitations?customerId=${asked}`);
      expect(invitations.status).toBe(200);
      expect(invitations.body.items, asked).toHaveLength(1);
      const audit = await call('GET', `/api/audit?customerId=${asked}`);
      expect(audit.status).toBe(200);
      expect(
        audit.body.items.map((a: { action: string }) => a.action),
        asked,
      ).toEqual(expect.arrayContaining(['customer.created', 'invitation.sent']));
      expect((await call('GET', `/api/customers/${asked}`)).body.id).toBe(id.toLowerCase());
    }
  });
});

describe('one body reader for every route', () => {
  const invalidUtf8 = Buffer.concat([
    Buffer.from('{"name":"Bad '),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from('"}'),
  ]);
  const bodyRoutes = async () => {
    const id = await customer();
    const sent = await call('POST', `/api/customers/${id}/invitations`);
    return {
      id,
      routes: [
        ['POST', '/api/customers'],
        ['PATCH', `/api/customers/${id}`],
        ['PUT', '/api/settings/invitation'],
        ['PATCH', '/api/settings/invitation'],
        ['POST', `/api/invitations/${sent.body.id as string}/revoke`],
      ] as const,
      invitationId: sent.body.id as string,
    };
  };
  const unchanged = async (id: string, invitationId: string, settingsBefore: unknown) => {
    expect((await call('GET', `/api/customers/${id}`)).body.name).toBe('Hostile Ltd');
    expect((await call('GET', '/api/settings/invitation')).body).toEqual(settingsBefore);
    const listed = await call('GET', `/api/invitations?customerId=${id}`);
    expect(listed.body.items.find((i: { id: string }) => i.id === invitationId).status).toBe('pending');
    const audit = await call('GET', `/api/audit?customerId=${id}`);
    expect(audit.body.items.map((a: { action: string }) => a.action).sort()).toEqual([
      'customer.created',
      'invitation.sent',
    ]);
  };

  it('refuses invalid UTF-8 with 400 and stores nothing', async () => {
    const { id, routes, invitationId } = await bodyRoutes();
    const settingsBefore = (await call('GET', '/api/settings/invitation')).body;
    for (const [method, path] of routes) {
      const res = await call(method, path, invalidUtf8);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(res.body.error.message).toMatch(/UTF-8/);
    }
    await unchanged(id, invitationId, settingsBefore);
  });

  it('refuses lone surrogates in strings with 400', async () => {
    const { id, routes, invitationId } = await bodyRoutes();
    const settingsBefore = (await call('GET', '/api/settings/invitation')).body;
    for (const [method, path] of routes) {
      const res = await call(
        method,
        path,
        '{"name":"A \\ud800 B","reason":"x\\udfff","providerName":"\\ud83d"}',
      );
      expect(res.status, `${method} ${path}`).toBe(400);
    }
    const created = await call(
      'POST',
      '/api/customers',
      json({ id: newId(), name: 'Lone \ud800 surrogate', adminEmail: 'a@b.example' }),
    );
    expect(created.status).toBe(400);
    await unchanged(id, invitationId, settingsBefore);
  });

  it('answers 415 to what is not JSON, and stores nothing', async () => {
    const { id, routes, invitationId } = await bodyRoutes();
    const settingsBefore = (await call('GET', '/api/settings/invitation')).body;
    const body = json({ id: newId(), name: 'Via text', adminEmail: 'a@b.example', reason: 'x' });
    const types = [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      null,
      'application/json; charset=iso-8859-1',
    ];
    for (const [method, path] of routes) {
      for (const type of types) {
        const res = await call(method, path, body, type);
        expect(res.status, `${method} ${path} ${type}`).toBe(415);
        expect(res.body.error.code).toBe('unsupported_media_type');
      }
    }
    await unchanged(id, invitationId, settingsBefore);
  });

  it('refuses 10,000-deep nesting with 400', async () => {
    const { routes } = await bodyRoutes();
    const deep = `{"name":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    for (const [method, path] of routes) {
      expect((await call(method, path, deep)).status, `${method} ${path}`).toBe(400);
    }
  });
});
