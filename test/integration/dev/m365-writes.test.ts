import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skus } from '../../../dev/m365/directory';
import { startM365Simulator, type M365Simulator } from '../../../dev/m365/server';
import { seedIds } from '../../../dev/m365/seed';
import { ensureDevCertificates } from '../../../dev/tls/certs';

/** The simulated Graph writes ($batch, user PATCH, assignLicense, Teams numbers) against Microsoft's samples. */

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(path.resolve(__dirname, '../../fixtures/microsoft/replication', name), 'utf8'),
  ) as Record<string, unknown>;
const keysOf = (o: unknown) => Object.keys(o as object).sort();
/** A value inside a parsed answer, by path (the assertions read answers loosely). */
const at = (o: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | null | undefined)?.[k], o);

let sim: M365Simulator;
const c = seedIds.contoso;
const write = ['User.Read.All', 'User.ReadWrite.All', 'TeamsTelephoneNumber.ReadWrite.All'];

beforeAll(async () => {
  const certs = await ensureDevCertificates();
  sim = await startM365Simulator({ tls: { cert: certs.cert, key: certs.key } });
});
afterAll(() => sim.stop());

async function call(method: string, p: string, body?: unknown, scopes = write) {
  const token = await sim.issueAccessToken({ tenantId: c.tenantId, userId: c.admin, scopes });
  const res = await fetch(`${sim.url}/v1.0${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as unknown) : null,
  };
}

describe('$batch', () => {
  it('answers each request by id in the documented shape; in a sequential batch a dependant of a failed request gets 424', async () => {
    const r = await call('POST', '/$batch', {
      requests: [
        {
          id: '1',
          method: 'PATCH',
          url: `/users/${c.user}`,
          headers: { 'Content-Type': 'application/json' },
          body: { department: 'Batch' },
        },
        {
          id: '2',
          dependsOn: ['1'],
          method: 'POST',
          url: `/users/${c.user}/assignLicense`,
          body: {
            addLicenses: [{ skuId: '11111111-1111-4111-8111-111111111111', disabledPlans: [] }],
            removeLicenses: [],
          },
        },
        { id: '3', dependsOn: ['2'], method: 'GET', url: `/users/${c.user}` },
      ],
    });
    expect(r.status).toBe(200);
    const sample = fixture('batch-response.json') as { responses: Record<string, unknown>[] };
    expect(keysOf(r.body)).toEqual(keysOf(sample));
    const byId = Object.fromEntries(
      (at(r.body, 'responses') as { id: string; status: number; body: unknown }[]).map((x) => [x.id, x]),
    );
    expect(byId['1']).toMatchObject({ status: 204 });
    expect(byId['2']).toMatchObject({ status: 400, body: { error: { code: 'Request_BadRequest' } } });
    expect(byId['3']).toMatchObject({ status: 424 });
    expect(sim.findUser(c.user)?.department).toBe('Batch');
  });

  it('refuses a batch neither fully parallel nor fully sequential with 400 and does none of it', async () => {
    const before = sim.findUser(c.user)?.department;
    const r = await call('POST', '/$batch', {
      requests: [
        { id: '1', method: 'PATCH', url: `/users/${c.user}`, body: { department: 'Mixed 1' } },
        { id: '2', method: 'PATCH', url: `/users/${c.admin}`, body: { department: 'Mixed 2' } },
        { id: '3', dependsOn: ['1'], method: 'GET', url: `/users/${c.user}` },
      ],
    });
    expect(r.status).toBe(400);
    expect(at(r.body, 'error')).toMatchObject({
      code: 'BadRequest',
      message: 'Batch should be either fully sequential or fully parallel',
    });
    expect(sim.findUser(c.user)?.department).toBe(before);
    expect(sim.findUser(c.admin)?.department).not.toBe('Mixed 2');
  });

  it('refuses more than 20 requests with 400 and does none of them', async () => {
    const requests = Array.from({ length: 21 }, (_, i) => ({
      id: String(i + 1),
      method: 'PATCH',
      url: `/users/${c.user}`,
      body: { department: `N${i}` },
    }));
    const r = await call('POST', '/$batch', { requests });
    expect(r.status).toBe(400);
    expect(at(r.body, 'error', 'code')).toBe('BadRequest');
    expect(sim.findUser(c.user)?.department).not.toMatch(/^N\d+$/);
  });

  it('a throttling fault for batch items: that item answers 429 with its own Retry-After, the others go', async () => {
    sim.portal.throttle({ tenantId: c.tenantId, times: 1, retryAfter: '1.5', inBatch: true });
    const r = await call('POST', '/$batch', {
      requests: [
        { id: 'a', method: 'GET', url: `/users/${c.user}` },
        { id: 'b', method: 'GET', url: `/users/${c.admin}` },
      ],
    });
    const statuses = (
      at(r.body, 'responses') as { id: string; status: number; headers: Record<string, string> }[]
    ).sort((x, y) => x.id.localeCompare(y.id));
    expect(statuses.map((s) => s.status)).toEqual([429, 200]);
    expect(statuses[0]!.headers['Retry-After']).toBe('1.5');
  });
});

describe('user writes', () => {
  it('need a write permission (403 Authorization_RequestDenied), then change what delta and GET see', async () => {
    const denied = await call('PATCH', `/users/${c.user}`, { usageLocation: 'DE' }, ['User.Read.All']);
    expect(denied.status).toBe(403);
    expect(at(denied.body, 'error', 'code')).toBe('Authorization_RequestDenied');
    expect((await call('PATCH', `/users/${c.user}`, { usageLocation: 'DE', department: 'Ops' })).status).toBe(
      204,
    );
    const got = await call('GET', `/users/${c.user}?$select=usageLocation,department`);
    expect(got.body).toMatchObject({ usageLocation: 'DE', department: 'Ops' });
  });

  it('assignLicense refuses a user without usage location, and consumes subscribed units', async () => {
    const u = sim.portal.addUser(c.tenantId, { userPrincipalName: `nolocation.${Date.now()}@contoso.com` });
    sim.portal.setSubscribedSkus(c.tenantId, [
      { skuId: skus.MCOEV, skuPartNumber: 'MCOEV', enabledUnits: 1 },
    ]);
    const add = { addLicenses: [{ skuId: skus.MCOEV, disabledPlans: [] }], removeLicenses: [] };
    const refused = await call('POST', `/users/${u.id}/assignLicense`, add);
    expect(refused.status).toBe(400);
    expect(at(refused.body, 'error', 'message')).toMatch(/usage location/);
    await call('PATCH', `/users/${u.id}`, { usageLocation: 'US' });
    expect((await call('POST', `/users/${u.id}/assignLicense`, add)).status).toBe(200);
    const full = await call('POST', `/users/${c.user}/assignLicense`, add);
    expect(full.status).toBe(400);
    const lacking = await call('POST', `/users/${c.user}/assignLicense`, {
      addLicenses: [],
      removeLicenses: [skus.MCOEV],
    });
    expect(lacking.status).toBe(400);
    expect(at(lacking.body, 'error', 'message')).toMatch(/does not have a corresponding license/);
    const held = await call('GET', `/users/${u.id}?$select=assignedLicenses`);
    expect(at(held.body, 'assignedLicenses')).toEqual([{ skuId: skus.MCOEV, disabledPlans: [] }]);
    const skusNow = await call('GET', '/subscribedSkus');
    expect(at(skusNow.body, 'value', 0)).toMatchObject({ skuId: skus.MCOEV, consumedUnits: 1 });
  });
});

describe('Teams numbers', () => {
  it('assignNumber answers 202 with an operation that runs and succeeds; numberAssignments lists it with +', async () => {
    const r = await call('POST', '/admin/teams/telephoneNumberManagement/numberAssignments/assignNumber', {
      telephoneNumber: '12061234567',
      assignmentTargetId: c.user,
      numberType: 'directRouting',
      assignmentCategory: 'primary',
    });
    expect(r.status).toBe(202);
    const location = r.headers.get('location') ?? '';
    expect(location).toMatch(/\/admin\/teams\/telephoneNumberManagement\/operations\('[^']+'\)$/);
    const path = location.replace(/^.*\/v1\.0/, '');
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(at((await call('GET', path)).body, 'value', 'status'));
    expect(statuses).toEqual(['notStarted', 'running', 'succeeded']);
    const last = await call('GET', path);
    expect(keysOf(at(last.body, 'value'))).toEqual(
      keysOf(at(fixture('telephoneNumberOperation-get-response.json'), 'value')),
    );
    const list = await call(
      'GET',
      `/admin/teams/telephoneNumberManagement/numberAssignments?$filter=${encodeURIComponent("telephoneNumber eq '+12061234567'")}`,
    );
    expect(at(list.body, 'value')).toEqual([
      expect.objectContaining({
        telephoneNumber: '+12061234567',
        assignmentTargetId: c.user,
        activationState: 'activated',
      }),
    ]);
    const noScope = await call(
      'POST',
      '/admin/teams/telephoneNumberManagement/numberAssignments/assignNumber',
      {},
      ['User.Read.All'],
    );
    expect(noScope.status).toBe(403);
  });
});
