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
  contentType: string | undefined = 'application/json',
) {
  const res = await fetch(`${host.url}${path}`, {
    method,
    headers: {
      'x-functions-key': TEST_FUNCTION_KEY,
      ...(body !== undefined && contentType ? { 'content-type': contentType } : {}),
    },
    ...(body !== undefined ? { body } : {}),
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
  // Lists of one partition also refuse a well-formed token into another partition.
  const otherPartition = Buffer.from('{"nextPartitionKey":"other-partition","nextRowKey":"x"}').toString(
    'base64',
  );
  const routes: [string, string[]][] = [
    ['/api/customers', [...garbage, otherPartition]],
    ['/api/orders/events', garbage],
    ['/api/audit', [...garbage, otherPartition]],
    ['/api/invitations', [...garbage, otherPartition]],
  ];
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
