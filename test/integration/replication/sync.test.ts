import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skus } from '../../../dev/m365/directory';
import { driveSignIn } from '../../../dev/m365/driver';
import { seedIds } from '../../../dev/m365/seed';
import { startLocalStack, type LocalStack } from '../../../dev/stack';
import { loadConfig } from '../../../shared/config';
import { createLog } from '../../../shared/log';
import { createGraphReader } from '../../../shared/replication/graph';
import { createReplication } from '../../../shared/replication';
import { createServices, type Services } from '../../../shared/services';
import { uniquePrefix } from '../../helpers/stack';

/**
 * Replication against the real pieces: Azurite and a private simulated Microsoft 365 whose portal
 * this file changes. The customer consents through onboarding's own pages; the sync redeems its token
 * through token health, as in production.
 */
let stack: LocalStack;
let services: Services;
let tableWrites = 0;
let customerId: string;
const c = seedIds.contoso;
const log = createLog({
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as Parameters<typeof createLog>[0]);

beforeAll(async () => {
  stack = await startLocalStack({ ports: 'free', quiet: true });
  const settings: Record<string, string> = { ...stack.settings, STORAGE_NAME_PREFIX: uniquePrefix() };
  process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER;
  services = createServices(loadConfig(settings), {
    observeTables: ({ method }) => {
      if (method !== 'GET') tableWrites++;
    },
  });
  customerId = `rep-${Date.now().toString(36)}`;
  await services.customers.create(
    { id: customerId, name: 'Contoso', adminEmail: 'patti@contoso.com' },
    'test',
  );
  const sent = await services.invitations.send(customerId, 'test');
  const started = await services.consent.start(
    new URL(sent.url ?? 'https://missing.invalid/').pathname.split('/').pop() ?? '',
  );
  if (started.kind !== 'redirect') throw new Error('consent start refused');
  const walk = await driveSignIn(started.location, {
    account: 'patti@contoso.com',
    consentForOrganization: true,
  });
  const done = await services.consent.callback(
    Object.fromEntries(new URL(walk.location ?? '').searchParams),
    started.browserKey,
  );
  if (done.kind !== 'consented') throw new Error('consent refused');
  const portal = stack.m365.portal;
  portal.setLicenses(c.tenantId, c.user, [{ skuId: skus.SPE_E3, disabledPlans: [] }]);
  portal.setLicenses(c.tenantId, c.teamsAdmin, [{ skuId: skus.ENTERPRISEPACK, disabledPlans: [] }]);
  portal.setSubscribedSkus(c.tenantId, [
    { skuId: skus.SPE_E3, skuPartNumber: 'SPE_E3', enabledUnits: 10 },
    { skuId: skus.ENTERPRISEPACK, skuPartNumber: 'ENTERPRISEPACK', enabledUnits: 5 },
  ]);
  portal.addGroup(c.tenantId, { displayName: 'Sales', members: [c.user, c.admin] });
  portal.addGroup(c.tenantId, { displayName: 'Voice', members: [c.teamsAdmin] });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const tenant = () => stack.m365.tenants.find((t) => t.id === c.tenantId)!;

async function cachedUsers() {
  const out = [];
  for await (const r of services.replication.repos.users.listAll({ partitionKey: customerId.toLowerCase() }))
    out.push(r.value);
  return out;
}
async function cachedMembers() {
  const out: string[] = [];
  for await (const r of services.replication.repos.members.listAll({
    partitionKey: customerId.toLowerCase(),
  }))
    out.push(`${r.value.groupId}|${r.value.memberId}`);
  return out.sort();
}
function truthMembers(): string[] {
  const groups = (tenant() as unknown as { changes: { groups: { id: string; members: string[] }[] } }).changes
    .groups;
  return groups.flatMap((g) => g.members.map((m) => `${g.id}|${m}`)).sort();
}

describe('delta sync of one tenant', () => {
  it('copies users, groups and memberships; a cycle with nothing changed costs 2 Graph requests and no Table write', async () => {
    const first = await services.replication.runSync(customerId, log);
    expect(first).toMatchObject({ outcome: 'synced', full: true });
    const users = await cachedUsers();
    expect(users.map((u) => u.id).sort()).toEqual(
      tenant()
        .users.map((u) => u.id)
        .sort(),
    );
    expect(await cachedMembers()).toEqual(truthMembers());

    stack.m365.portal.resetGraphRequests();
    tableWrites = 0;
    const quiet = await services.replication.runSync(customerId, log);
    expect(quiet).toMatchObject({ outcome: 'synced', full: false });
    expect(stack.m365.portal.graphRequests(c.tenantId)).toBe(2);
    expect(tableWrites).toBe(0);
    const state = await services.replication.syncState(customerId);
    expect(state).toMatchObject({ result: 'succeeded', synced: true });
    expect(state.licences.find((l) => l.sku === 'SPE_E3')).toBeDefined();
  });

  it('reconciles what the portal changed: sign-in name, licences removed or switched, a user removed — same ids, audited', async () => {
    const portal = stack.m365.portal;
    portal.updateUser(c.tenantId, c.user, { userPrincipalName: 'alex.wilber@contoso.com' });
    portal.setLicenses(c.tenantId, c.user, []);
    portal.setLicenses(c.tenantId, c.teamsAdmin, [{ skuId: skus.SPE_E3, disabledPlans: [] }]);
    portal.deleteUser(c.tenantId, c.guest);
    const run = await services.replication.runSync(customerId, log);
    expect(run).toMatchObject({ outcome: 'synced', usersWritten: 3 });
    const users = await cachedUsers();
    expect(users.filter((u) => u.id === c.user)).toHaveLength(1);
    expect(users.find((u) => u.id === c.user)).toMatchObject({
      userPrincipalName: 'alex.wilber@contoso.com',
      assignedLicenses: [],
    });
    expect(users.find((u) => u.id === c.guest)).toMatchObject({ deleted: true });
    const audit = await services.audit.list({ customerId, limit: 50 });
    const actions = audit.items.map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'replication.user.signInNameChanged',
        'replication.user.licencesRemoved',
        'replication.user.licencesSwitched',
        'replication.user.removed',
      ]),
    );
    const found = await services.replication.listUsers(customerId, { search: 'alex.w' });
    expect(found.items.map((u) => u.id)).toEqual([c.user]);
    const one = await services.replication.getUser(customerId, c.teamsAdmin);
    expect(one.groups.map((g) => g.displayName)).toEqual(['Voice']);
    expect(one.licences).toEqual([expect.objectContaining({ skuPartNumber: 'SPE_E3', skuId: skus.SPE_E3 })]);
  });

  it('starts over cleanly after 410 Gone or syncStateNotFound: nothing lost, nothing doubled', async () => {
    const portal = stack.m365.portal;
    const sales = (
      tenant() as unknown as { changes: { groups: { id: string; displayName: string }[] } }
    ).changes.groups.find((g) => g.displayName === 'Sales')!;
    for (const answer of ['410', 'syncStateNotFound'] as const) {
      portal.resetDeltaTokens(c.tenantId, answer);
      portal.removeMember(c.tenantId, sales.id, c.admin);
      portal.addMember(c.tenantId, sales.id, c.admin);
      portal.removeMember(c.tenantId, sales.id, c.admin);
      const run = await services.replication.runSync(customerId, log);
      expect(run).toMatchObject({ outcome: 'synced', full: true });
      expect(await cachedMembers()).toEqual(truthMembers());
      const ids = (await cachedUsers())
        .filter((u) => !u.deleted)
        .map((u) => u.id)
        .sort();
      expect(ids).toEqual(
        tenant()
          .users.map((u) => u.id)
          .sort(),
      );
      portal.addMember(c.tenantId, sales.id, c.admin);
    }
  });

  it('a worker killed half-way loses and doubles nothing: the delta link moves only after its rows are written', async () => {
    const portal = stack.m365.portal;
    portal.setDeltaPaging({ pageSize: 1, membersPerPage: 1 });
    const added = portal.addUser(c.tenantId, {
      userPrincipalName: 'new.hire@contoso.com',
      displayName: 'New Hire',
    });
    const voice = (
      tenant() as unknown as { changes: { groups: { id: string; displayName: string }[] } }
    ).changes.groups.find((g) => g.displayName === 'Voice')!;
    portal.addMember(c.tenantId, voice.id, added.id);
    portal.updateUser(c.tenantId, c.admin, { department: 'Board' });
    // A worker whose process dies after its second Graph page.
    const real = createGraphReader({});
    let calls = 0;
    const dying = createReplication({
      config: {
        graphBaseUrl: services.config.graph.baseUrl,
        syncMinutes: 5,
        runBudgetMs: 60_000,
        maxInstances: 1,
      },
      storage: services.storage,
      jobs: services.jobs,
      customers: services.customers,
      tokens: services.tokens,
      audit: services.audit,
      outbox: services.outbox,
      subscriptions: services.orders.subscriptions,
      now: services.now,
      graph: {
        get requests() {
          return real.requests;
        },
        get: (url, token) => {
          if (++calls > 2) throw new Error('process killed');
          return real.get(url, token);
        },
      },
    });
    await expect(dying.runSync(customerId, log)).rejects.toThrow('process killed');
    const after = await services.replication.runSync(customerId, log);
    portal.setDeltaPaging({ pageSize: 200, membersPerPage: 2000 });
    expect(after).toMatchObject({ outcome: 'synced' });
    const users = await cachedUsers();
    expect(users.filter((u) => u.id === added.id)).toHaveLength(1);
    expect(users.find((u) => u.id === c.admin)).toMatchObject({ department: 'Board' });
    expect(await cachedMembers()).toEqual(truthMembers());
    expect(new Set(users.map((u) => u.id)).size).toBe(users.length);
  });

  it('honours Retry-After: a short one is waited out, a long one gives the tenant back to the queue with that delay', async () => {
    const portal = stack.m365.portal;
    portal.throttle({ tenantId: c.tenantId, times: 1, retryAfter: '0.3' });
    const t0 = Date.now();
    expect(await services.replication.runSync(customerId, log)).toMatchObject({ outcome: 'synced' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    portal.throttle({ tenantId: c.tenantId, times: 1, retryAfter: '30' });
    expect(await services.replication.runSync(customerId, log)).toMatchObject({
      outcome: 'requeued',
      delaySeconds: 30,
    });
    expect(await services.replication.mailbox.pending(customerId)).toBeGreaterThan(0);
    expect(await services.replication.syncState(customerId)).toMatchObject({ result: 'throttled' });
  });

  it('skips a suspended customer and says why', async () => {
    await services.customers.setStatus(customerId, 'suspended', 'test', 'unpaid');
    expect(await services.replication.runSync(customerId, log)).toEqual({
      outcome: 'skipped',
      reason: 'suspended',
    });
    const fan = await services.replication.fanOutAll(log, new Date());
    expect(fan.skippedBy.suspended).toBeGreaterThanOrEqual(1);
    await services.customers.setStatus(customerId, 'active', 'test');
  });
});
