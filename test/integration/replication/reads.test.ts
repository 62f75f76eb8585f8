import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../../../dev/host';
import { skus } from '../../../dev/m365/directory';
import { seedIds } from '../../../dev/m365/seed';
import { startLocalStack, type LocalStack } from '../../../dev/stack';
import { loadConfig } from '../../../shared/config';
import { silentLog } from '../../../shared/log';
import { createServices, type Services } from '../../../shared/services';
import { consentedCustomer } from '../../helpers/consent';
import { startTestHost, TEST_FUNCTION_KEY } from '../../helpers/host';
import { uniquePrefix } from '../../helpers/stack';

/**
 * The operators' read API over a replicated tenant, through the app's own HTTP routes in the local
 * host: what a sync of the simulated tenant stored is what the routes answer, page by page.
 */
let stack: LocalStack;
let host: Host;
let services: Services;
let customerId: string;
let salesId: string;
const c = seedIds.contoso;

beforeAll(async () => {
  stack = await startLocalStack({ ports: 'free', quiet: true });
  const settings: Record<string, string> = { ...stack.settings, STORAGE_NAME_PREFIX: uniquePrefix() };
  host = await startTestHost(settings);
  services = createServices(loadConfig(settings));
  customerId = `reads-${Date.now().toString(36)}`;
  await consentedCustomer(services, { id: customerId, name: 'Contoso', adminEmail: 'patti@contoso.com' });
  const portal = stack.m365.portal;
  portal.setSubscribedSkus(c.tenantId, [{ skuId: skus.SPE_E3, skuPartNumber: 'SPE_E3', enabledUnits: 10 }]);
  portal.setLicenses(c.tenantId, c.user, [{ skuId: skus.SPE_E3, disabledPlans: [] }]);
  salesId = portal.addGroup(c.tenantId, {
    displayName: 'Sales',
    members: [c.user, c.admin, c.teamsAdmin],
  }).id;
  const run = await services.replication.runSync(customerId, silentLog);
  if (run.outcome !== 'synced') throw new Error(`sync refused: ${JSON.stringify(run)}`);
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await stack?.stop();
});

async function get(path: string, key: string | null = TEST_FUNCTION_KEY) {
  const res = await fetch(`${host.url}${path}`, key ? { headers: { 'x-functions-key': key } } : {});
  // A refused function key is an empty 401, as Azure's host answers it.
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}
const tenantUsers = () => stack.m365.tenants.find((t) => t.id === c.tenantId)!.users;

describe('the replication read API', () => {
  it('pages through every user of the tenant, each once', async () => {
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const q: string = token ? `&continuationToken=${encodeURIComponent(token)}` : '';
      const page = await get(`/api/customers/${customerId}/users?pageSize=2${q}`);
      expect(page.status).toBe(200);
      const items = page.body.items as { id: string }[];
      expect(items.length).toBeLessThanOrEqual(2);
      seen.push(...items.map((u) => u.id));
      token = page.body.continuationToken as string | null;
      pages++;
    } while (token && pages < 50);
    expect(seen.sort()).toEqual(
      tenantUsers()
        .map((u) => u.id)
        .sort(),
    );
    expect(pages).toBeGreaterThan(1);
  });

  it('finds users by the start of their name or sign-in name, whatever the case', async () => {
    const alex = tenantUsers().find((u) => u.id === c.user)!;
    const byName = await get(
      `/api/customers/${customerId}/users?search=${encodeURIComponent(alex.displayName.slice(0, 3).toUpperCase())}`,
    );
    expect((byName.body.items as { id: string }[]).map((u) => u.id)).toContain(c.user);
    const upnStart = alex.userPrincipalName.split('@')[0]!.toUpperCase();
    const byUpn = await get(`/api/customers/${customerId}/users?search=${encodeURIComponent(upnStart)}`);
    expect((byUpn.body.items as { id: string }[]).map((u) => u.id)).toEqual([c.user]);
    const none = await get(`/api/customers/${customerId}/users?search=zzzz-nobody`);
    expect(none.body.items).toEqual([]);
  });

  it('shows one user with licence names and groups', async () => {
    const one = await get(`/api/customers/${customerId}/users/${c.user.toUpperCase()}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      id: c.user,
      licences: [{ skuId: skus.SPE_E3, skuPartNumber: 'SPE_E3', disabledPlans: [] }],
      groups: [{ id: salesId, displayName: 'Sales' }],
    });
    expect(JSON.stringify(one.body)).not.toMatch(/hash|deltaLink/i);
  });

  it('shows groups, and one group with its members page by page', async () => {
    const groups = await get(`/api/customers/${customerId}/groups`);
    expect((groups.body.items as { displayName: string }[]).map((g) => g.displayName)).toContain('Sales');
    const first = await get(`/api/customers/${customerId}/groups/${salesId}?pageSize=2`);
    expect(first.body.members).toHaveLength(2);
    const rest = await get(
      `/api/customers/${customerId}/groups/${salesId}?pageSize=2&continuationToken=${encodeURIComponent(String(first.body.continuationToken))}`,
    );
    const all = [...(first.body.members as string[]), ...(rest.body.members as string[])];
    expect(all.sort()).toEqual([c.user, c.admin, c.teamsAdmin].sort());
  });

  it('shows the sync state with licence counts against what was ordered', async () => {
    const state = await get(`/api/customers/${customerId}/sync`);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ customerId, gate: 'active', synced: true, result: 'succeeded' });
    expect(state.body.licences).toEqual([
      { sku: 'SPE_E3', ordered: 0, enabled: 10, assigned: 1, matches: false },
    ]);
  });

  it('answers 404 for what does not exist, 400 for a bad query and 401 without a key', async () => {
    const unknownUser = '00000000-0000-0000-0000-000000000001';
    expect((await get(`/api/customers/${customerId}/users/${unknownUser}`)).status).toBe(404);
    expect((await get(`/api/customers/${customerId}/users/not-a-guid`)).status).toBe(404);
    expect((await get(`/api/customers/${customerId}/groups/${unknownUser}`)).status).toBe(404);
    expect((await get(`/api/customers/nobody-here/users`)).status).toBe(404);
    expect((await get(`/api/customers/nobody-here/sync`)).status).toBe(404);
    expect((await get(`/api/customers/${customerId}/users?pageSize=0`)).status).toBe(400);
    expect((await get(`/api/customers/${customerId}/users`, null)).status).toBe(401);
  });
});
