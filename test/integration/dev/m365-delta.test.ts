import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startM365Simulator, type M365Simulator } from '../../../dev/m365/server';
import { seedIds } from '../../../dev/m365/seed';
import { ensureDevCertificates } from '../../../dev/tls/certs';

/** The simulated Graph delta queries, judged against Microsoft's documented samples. */

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(path.resolve(__dirname, '../../fixtures/microsoft/replication', name), 'utf8'),
  ) as Record<string, unknown>;

let sim: M365Simulator;
const c = seedIds.contoso;

beforeAll(async () => {
  const certs = await ensureDevCertificates();
  sim = await startM365Simulator({ tls: { cert: certs.cert, key: certs.key } });
});
afterAll(() => sim.stop());

async function token(tenantId: string, userId: string): Promise<string> {
  return sim.issueAccessToken({
    tenantId,
    userId,
    scopes: ['User.Read.All', 'Group.Read.All', 'Directory.Read.All'],
  });
}

type DeltaPage = {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  value: Record<string, unknown>[];
};

async function get(
  url: string,
  bearer: string,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${bearer}` } });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** Follows next links to the delta link: every page, and the delta link. */
async function round(url: string, bearer: string): Promise<{ pages: DeltaPage[]; deltaLink: string }> {
  const pages: DeltaPage[] = [];
  for (let next: string | undefined = url; next;) {
    const res = await get(next, bearer);
    expect(res.status).toBe(200);
    const page = res.body as DeltaPage;
    pages.push(page);
    // "A page can't contain both @odata.deltaLink and @odata.nextLink".
    expect(page['@odata.nextLink'] !== undefined && page['@odata.deltaLink'] !== undefined).toBe(false);
    if (page['@odata.deltaLink']) return { pages, deltaLink: page['@odata.deltaLink'] };
    next = page['@odata.nextLink'];
  }
  throw new Error('no delta link');
}

const keysOf = (o: object) => Object.keys(o).sort();

describe('users/delta', () => {
  it('pages with next links to a delta link, in the documented shape, $select baked into the tokens', async () => {
    const bearer = await token(c.tenantId, c.admin);
    sim.portal.setDeltaPaging({ pageSize: 2 });
    const { pages, deltaLink } = await round(
      `${sim.url}/v1.0/users/delta?$select=displayName,givenName,surname`,
      bearer,
    );
    sim.portal.setDeltaPaging({ pageSize: 200 });
    const doc1 = fixture('users-delta-page1.json');
    const docLast = fixture('users-delta-last.json');
    const first = pages[0]!;
    expect(keysOf(first)).toEqual(keysOf(doc1));
    expect(first['@odata.context']).toMatch(/\/v1\.0\/\$metadata#users\(displayName,givenName,surname\)$/);
    expect(first['@odata.nextLink']).toMatch(/\/v1\.0\/users\/delta\?\$skiptoken=/);
    expect(first['@odata.nextLink']).not.toContain('select');
    expect(keysOf(first.value[0]!)).toEqual(keysOf((doc1.value as Record<string, unknown>[])[0]!));
    const last = pages[pages.length - 1]!;
    expect(keysOf(last)).toEqual(keysOf(docLast));
    expect(deltaLink).toMatch(/\/v1\.0\/users\/delta\?\$deltatoken=/);
    const all = pages.flatMap((p) => p.value);
    expect(all.length).toBe(sim.tenants.find((t) => t.id === c.tenantId)!.users.length);
    expect(new Set(all.map((u) => u.id)).size).toBe(all.length);

    // Nothing changed: one page, no values, a delta link (users-delta-nochanges.json).
    const quiet = await round(deltaLink, bearer);
    expect(quiet.pages).toHaveLength(1);
    expect(keysOf(quiet.pages[0]!)).toEqual(keysOf(fixture('users-delta-nochanges.json')));
    expect(quiet.pages[0]!.value).toEqual([]);

    // A change: only that user, with the properties baked into the token.
    sim.portal.updateUser(c.tenantId, c.user, {
      displayName: 'Alex W.',
      userPrincipalName: 'alexw@contoso.com',
    });
    const changed = await round(quiet.deltaLink, bearer);
    expect(changed.pages.flatMap((p) => p.value)).toEqual([
      { displayName: 'Alex W.', givenName: 'Alex', surname: 'Wilber', id: c.user },
    ]);
  });

  it('serves empty pages that still carry a next link', async () => {
    const bearer = await token(c.tenantId, c.admin);
    sim.portal.setDeltaPaging({ emptyPages: 2 });
    const { pages } = await round(`${sim.url}/v1.0/users/delta?$select=id`, bearer);
    sim.portal.setDeltaPaging({ emptyPages: 0 });
    expect(pages[0]!.value).toEqual([]);
    expect(pages[0]!['@odata.nextLink']).toBeDefined();
    expect(pages[1]!.value).toEqual([]);
    expect(pages.flatMap((p) => p.value).length).toBeGreaterThan(0);
  });

  it('reports a soft delete as changed and a permanent one as deleted, and a restore as the user again', async () => {
    const f = seedIds.fabrikam;
    const bearer = await token(f.tenantId, f.admin);
    const start = await round(`${sim.url}/v1.0/users/delta?$select=displayName,accountEnabled`, bearer);
    sim.portal.deleteUser(f.tenantId, f.user);
    sim.portal.deleteUser(f.tenantId, f.guest, { permanent: true });
    const after = await round(start.deltaLink, bearer);
    const removed = after.pages.flatMap((p) => p.value);
    expect(removed).toContainEqual({ id: f.user, '@removed': { reason: 'changed' } });
    expect(removed).toContainEqual({ id: f.guest, '@removed': { reason: 'deleted' } });
    sim.portal.restoreUser(f.tenantId, f.user);
    const restored = await round(after.deltaLink, bearer);
    expect(restored.pages.flatMap((p) => p.value)).toEqual([
      { displayName: 'Johanna Lorenz', accountEnabled: true, id: f.user },
    ]);
  });

  it('answers 410 Gone with a Location after a reset and 400 syncStateNotFound after expiry; the Location starts over', async () => {
    const n = seedIds.northwind;
    const bearer = await token(n.tenantId, n.admin);
    const start = await round(`${sim.url}/v1.0/users/delta?$select=displayName`, bearer);
    sim.portal.resetDeltaTokens(n.tenantId);
    const gone = await get(start.deltaLink, bearer);
    expect(gone.status).toBe(410);
    expect((gone.body as { error: { code: string } }).error.code).toBe('resyncRequired');
    const location = gone.headers.get('location')!;
    expect(location).toMatch(/\/users\/delta\?\$select=displayName&\$deltatoken=$/);
    const again = await round(location, bearer);
    expect(again.pages.flatMap((p) => p.value).length).toBe(
      sim.tenants.find((t) => t.id === n.tenantId)!.users.length,
    );
    sim.portal.resetDeltaTokens(n.tenantId, 'syncStateNotFound');
    const notFound = await get(again.deltaLink, bearer);
    expect(notFound.status).toBe(400);
    expect((notFound.body as { error: { code: string } }).error.code).toBe('syncStateNotFound');
  });

  it('throttles with 429 and a fractional Retry-After in the documented body', async () => {
    const bearer = await token(c.tenantId, c.admin);
    sim.portal.throttle({ tenantId: c.tenantId, times: 1, retryAfter: '2.128' });
    const res = await get(`${sim.url}/v1.0/users/delta`, bearer);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2.128');
    const doc = fixture('graph-429-body.json') as { error: { code: string } };
    expect((res.body as { error: { code: string } }).error.code).toBe(doc.error.code);
    // Back before the Retry-After: throttled again, and counted as the client's fault.
    const early = await get(`${sim.url}/v1.0/users/delta`, bearer);
    expect(early.status).toBe(429);
    expect(sim.portal.ignoredRetryAfter()).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    expect((await get(`${sim.url}/v1.0/users/delta`, bearer)).status).toBe(200);
  });

  it('says what each request cost (x-ms-resource-unit) and keeps every request of a tenant for the peak per 10 s', async () => {
    const bearer = await token(c.tenantId, c.admin);
    sim.portal.resetGraphRequests();
    const plain = await get(`${sim.url}/v1.0/users/delta`, bearer);
    expect(plain.headers.get('x-ms-resource-unit')).toBe('2');
    const selected = await get(`${sim.url}/v1.0/users/delta?$select=displayName`, bearer);
    expect(selected.headers.get('x-ms-resource-unit')).toBe('1');
    expect(sim.portal.graphPeak(c.tenantId, 10_000)).toEqual({ requests: 2, units: 3 });
  });

  it("lists /users, /groups and a group's members page by page ($top, @odata.nextLink), as the SDK's PageIterator follows", async () => {
    const tenant = sim.portal.addTenant({ domain: 'lists.example', users: 25, groups: 2, memberships: 30 });
    const bearer = await token(tenant.id, tenant.users[0]!.id);
    const all = async (url: string) => {
      const items: Record<string, unknown>[] = [];
      for (let next: string | undefined = url; next;) {
        const res = await get(next, bearer);
        expect(res.status).toBe(200);
        const page = res.body as DeltaPage;
        expect(page.value.length).toBeLessThanOrEqual(10);
        items.push(...page.value);
        next = page['@odata.nextLink'];
      }
      return items;
    };
    const users = await all(`${sim.url}/v1.0/users?$top=10&$select=displayName`);
    expect(users.map((u) => u.id).sort()).toEqual(tenant.users.map((u) => u.id).sort());
    expect(Object.keys(users[0]!).sort()).toEqual(['displayName', 'id']);
    const groups = await all(`${sim.url}/v1.0/groups?$top=10`);
    expect(groups).toHaveLength(2);
    const members = await all(`${sim.url}/v1.0/groups/${String(groups[0]!.id)}/members?$top=10`);
    expect(members.length).toBeGreaterThan(10);
    expect((await get(`${sim.url}/v1.0/users?$top=1000`, bearer)).status).toBe(400);
    expect((await get(`${sim.url}/v1.0/groups/nope/members`, bearer)).status).toBe(404);
  });

  it('refuses $top, $expand and $orderby, as Microsoft does for user delta', async () => {
    const bearer = await token(c.tenantId, c.admin);
    expect((await get(`${sim.url}/v1.0/users/delta?$top=5`, bearer)).status).toBe(400);
  });
});

describe('groups/delta', () => {
  it('spreads one large group over several pages and reports member additions and removals', async () => {
    const tenant = sim.portal.addTenant({ domain: 'big.example', users: 120, groups: 3, memberships: 150 });
    const admin = tenant.users[0]!.id;
    const bearer = await token(tenant.id, admin);
    sim.portal.setDeltaPaging({ membersPerPage: 50 });
    const { pages, deltaLink } = await round(`${sim.url}/v1.0/groups/delta`, bearer);
    sim.portal.setDeltaPaging({ membersPerPage: 2000 });
    const doc = fixture('groups-delta-api-default.json');
    expect(keysOf(pages[0]!)).toEqual(keysOf(doc));
    const big = tenant.users.slice(0, 120).map((u) => u.id);
    const occurrences = pages
      .flatMap((p) => p.value)
      .filter((g) => g.displayName === 'Group 0' || g['members@delta']);
    const bigGroupId = pages.flatMap((p) => p.value).find((g) => g.displayName === 'Group 0')!.id as string;
    const members = pages
      .flatMap((p) => p.value)
      .filter((g) => g.id === bigGroupId)
      .flatMap((g) => (g['members@delta'] as { id: string }[]).map((m) => m.id));
    expect(pages.filter((p) => p.value.some((g) => g.id === bigGroupId)).length).toBeGreaterThan(1);
    expect(occurrences.length).toBeGreaterThan(3);
    expect(members.sort()).toEqual(big.sort());
    const entry = (
      pages.flatMap((p) => p.value).find((g) => g.id === bigGroupId)!['members@delta'] as Record<
        string,
        unknown
      >[]
    )[0]!;
    expect(entry['@odata.type']).toBe('#microsoft.graph.user');

    const added = tenant.users[119]!.id;
    const second = pages.flatMap((p) => p.value).find((g) => g.id !== bigGroupId)!.id as string;
    sim.portal.removeMember(tenant.id, bigGroupId, big[0]!);
    sim.portal.addMember(tenant.id, second, added);
    const changed = (await round(deltaLink, bearer)).pages.flatMap((p) => p.value);
    const docMembers = fixture('groups-delta-members.json').value as Record<string, unknown>[];
    const removal = (docMembers[0]!['members@delta'] as Record<string, unknown>[])[0]!;
    const bigChange = changed.find((g) => g.id === bigGroupId)!;
    expect(bigChange['members@delta']).toEqual([{ ...removal, id: big[0] }]);
    expect(changed.find((g) => g.id === second)!['members@delta']).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: added },
    ]);
  });

  it('bakes $select into the token: without members there is no members@delta', async () => {
    const tenant = sim.portal.addTenant({ domain: 'small.example', users: 5, groups: 2, memberships: 6 });
    const bearer = await token(tenant.id, tenant.users[0]!.id);
    const { pages } = await round(`${sim.url}/v1.0/groups/delta?$select=displayName,description`, bearer);
    const value = pages.flatMap((p) => p.value);
    expect(value).toHaveLength(2);
    expect(keysOf(value[0]!)).toEqual(['description', 'displayName', 'id']);
  });
});

describe('subscribedSkus', () => {
  it('names the licences with their counts', async () => {
    const tenant = sim.portal.addTenant({ domain: 'skus.example', users: 3 });
    const bearer = await token(tenant.id, tenant.users[0]!.id);
    const res = await get(`${sim.url}/v1.0/subscribedSkus`, bearer);
    expect(res.status).toBe(200);
    expect((res.body as { value: unknown[] }).value).toEqual([
      expect.objectContaining({
        skuPartNumber: 'SPE_E3',
        consumedUnits: 3,
        prepaidUnits: expect.objectContaining({ enabled: 3 }),
      }),
    ]);
  });
});
