import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changesOf } from '../../../dev/m365/directory';
import type { DirectoryTenant } from '../../../dev/m365/state';
import { startLocalStack, type LocalStack } from '../../../dev/stack';
import { loadConfig } from '../../../shared/config';
import { createLog } from '../../../shared/log';
import { refreshTokenSecretName } from '../../../shared/onboarding/consent-secret';
import { CUSTOMER_PARTITION } from '../../../shared/onboarding/repositories';
import { createGraphBudget } from '../../../shared/replication/budget';
import { createGraphReader, type GraphReader } from '../../../shared/replication/graph';
import { createServices, type Services } from '../../../shared/services';
import { uniquePrefix } from '../../helpers/stack';
import { replicationWith } from '../../helpers/replication';

/**
 * A long initial sync spread over many runs (each run's time budget holds one page), and Graph's
 * resource-unit budget kept per tenant, against Azurite and the simulated Microsoft 365 (which
 * counts every request of a tenant as it arrives).
 */
let stack: LocalStack;
let services: Services;
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
  services = createServices(loadConfig(settings));
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** A consented customer for a generated tenant, as the consent callback would leave it. */
async function consentedCustomer(id: string, size: { users: number; groups: number; memberships: number }) {
  const tenant = stack.m365.portal.addTenant({ domain: `${id}.example`, ...size });
  await services.customers.create({ id, name: id, adminEmail: `admin@${id}.example` }, 'test');
  const secretName = refreshTokenSecretName(id, tenant.id);
  await services.secrets.set(secretName, stack.m365.issueRefreshToken(tenant.id));
  await services.onboarding.customers.mutate(CUSTOMER_PARTITION, id, (c) => ({
    ...c,
    consentState: 'consented',
    tenantId: tenant.id,
    consentedAt: new Date().toISOString(),
    tokenSecretName: secretName,
  }));
  return tenant;
}

const replication = (options: { runBudgetMs: number; graph?: GraphReader }) =>
  replicationWith(services, {
    config: { runBudgetMs: options.runBudgetMs, maxInstances: 1 },
    ...(options.graph ? { graph: options.graph } : {}),
  });

async function cached(customerId: string) {
  const pk = customerId.toLowerCase();
  const users: string[] = [];
  const members: string[] = [];
  const groups: string[] = [];
  for await (const r of services.replication.repos.users.listAll({ partitionKey: pk }))
    users.push(r.value.id);
  for await (const r of services.replication.repos.groups.listAll({ partitionKey: pk }))
    groups.push(r.value.id);
  for await (const r of services.replication.repos.members.listAll({ partitionKey: pk }))
    members.push(`${r.value.groupId}|${r.value.memberId}`);
  return { users: users.sort(), groups: groups.sort(), members: members.sort() };
}

function truth(tenant: DirectoryTenant) {
  const c = changesOf(tenant);
  return {
    users: tenant.users.map((u) => u.id).sort(),
    groups: c.groups.map((g) => g.id).sort(),
    members: c.groups.flatMap((g) => g.members.map((m) => `${g.id}|${m}`)).sort(),
  };
}

describe('a sync longer than one run', () => {
  it('completes over several messages from where each run stopped, exact rows, and a full resync still deletes what Graph stopped listing', async () => {
    const portal = stack.m365.portal;
    portal.setDeltaPaging({ pageSize: 25, membersPerPage: 60 });
    const id = `resume-${Date.now().toString(36)}`;
    const tenant = await consentedCustomer(id, { users: 300, groups: 8, memberships: 500 });
    // Each run's budget is spent after its first page: it stops and continues in a new message.
    const short = replication({ runBudgetMs: 1 });

    const untilSynced = async (onRun?: (run: number) => void) => {
      for (let run = 1; run < 200; run++) {
        onRun?.(run);
        const r = await short.runSync(id, log);
        if (r.outcome === 'synced') return run;
        expect(r).toMatchObject({ outcome: 'requeued', delaySeconds: 1 });
        // The continuation is in the tenant's mailbox.
        expect(await short.mailbox.pending(id)).toBeGreaterThan(0);
      }
      throw new Error('the sync never finished');
    };

    portal.resetGraphRequests();
    const runs = await untilSynced();
    expect(runs).toBeGreaterThan(10);
    expect(await cached(id)).toEqual(truth(tenant));
    // No run started over: one delta page per run (two where users end and groups begin). (Licence
    // names, roles, Teams voice and subscriptions are read besides, once.)
    expect(portal.graphRequestsTo(tenant.id, /^\/(users|groups)\/delta/)).toBeLessThanOrEqual(runs + 1);
    expect((await services.replication.syncState(id)).fullSyncs).toBe(1);

    // Graph resets the tenant's delta tokens: the next sync is a full one, over many runs again. Mid-way,
    // a user not listed yet is deleted for good (the closing step must delete it, while keeping every
    // user listed in earlier runs), a member leaves a group, and a user already listed is deleted.
    portal.resetDeltaTokens(tenant.id);
    const sorted = tenant.users.map((u) => u.id).sort();
    const early = sorted[3] as string;
    const late = sorted[sorted.length - 2] as string;
    const group = changesOf(tenant).groups[0] as { id: string; members: string[] };
    const leaving = group.members[group.members.length - 1] as string;
    let killed = false;
    await untilSynced((run) => {
      if (run !== 6) return;
      portal.deleteUser(tenant.id, late, { permanent: true });
      portal.deleteUser(tenant.id, early, { permanent: true });
      portal.removeMember(tenant.id, group.id, leaving);
      killed = true;
    });
    expect(killed).toBe(true);
    const after = await cached(id);
    expect(after.users).not.toContain(late);
    expect(after.members).not.toContain(`${group.id}|${leaving}`);
    // The user listed before its deletion is removed by the next delta, as Graph reports it there.
    await services.replication.runSync(id, log);
    expect(await cached(id)).toEqual(truth(tenant));
    portal.setDeltaPaging({ pageSize: 200, membersPerPage: 2000 });
  }, 120_000);

  it('a worker killed between pages of a resumed round loses nothing and doubles nothing', async () => {
    const portal = stack.m365.portal;
    portal.setDeltaPaging({ pageSize: 20, membersPerPage: 40 });
    const id = `killed-${Date.now().toString(36)}`;
    const tenant = await consentedCustomer(id, { users: 160, groups: 4, memberships: 200 });
    const short = replication({ runBudgetMs: 1 });
    for (let i = 0; i < 3; i++) expect(await short.runSync(id, log)).toMatchObject({ outcome: 'requeued' });
    // A worker with time enough, whose process dies on its fourth Graph request (three pages committed
    // past the saved cursor, none of them recorded).
    let calls = 0;
    const dying = replicationWith(services, {
      config: { runBudgetMs: 60_000, maxInstances: 1 },
      before: () => {
        if (++calls > 3) throw new Error('process killed');
      },
    });
    await expect(dying.runSync(id, log)).rejects.toThrow('process killed');
    for (let run = 0; run < 100; run++) if ((await short.runSync(id, log)).outcome === 'synced') break;
    expect(await cached(id)).toEqual(truth(tenant));
    portal.setDeltaPaging({ pageSize: 200, membersPerPage: 2000 });
  }, 120_000);
});

describe("Graph's resource-unit budget", () => {
  it('a tenant never spends more than its budget in any 10 s at Graph; a long wait hands the run back, which resumes', async () => {
    const portal = stack.m365.portal;
    portal.setDeltaPaging({ pageSize: 20, membersPerPage: 100 });
    const id = `budget-${Date.now().toString(36)}`;
    const tenant = await consentedCustomer(id, { users: 240, groups: 3, memberships: 100 });
    // A tenant limit of 8 units per 10 s instead of 3,500: the same rule, reachable in a test.
    const limited = replication({
      runBudgetMs: 60_000,
      graph: createGraphReader({ budget: createGraphBudget({ appUnits: 1_000 }), tenantLimit: () => 8 }),
    });
    portal.resetGraphRequests();
    let requeued = 0;
    for (let run = 0; run < 20; run++) {
      const r = await limited.runSync(id, log);
      if (r.outcome === 'synced') break;
      expect(r.outcome).toBe('requeued');
      requeued++;
      // As the queue would: the message comes back after its delay.
      const delay = 'delaySeconds' in r ? Number(r.delaySeconds) : 1;
      await new Promise((resolve) => setTimeout(resolve, delay * 1000));
    }
    expect(requeued).toBeGreaterThan(0);
    const peak = portal.graphPeak(tenant.id, 10_000);
    expect(peak.units).toBeLessThanOrEqual(8);
    expect(portal.graphRequests(tenant.id)).toBeGreaterThan(8);
    expect(await cached(id)).toEqual(truth(tenant));
    portal.setDeltaPaging({ pageSize: 200, membersPerPage: 2000 });
  }, 120_000);
});
