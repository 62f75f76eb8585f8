import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleTemplateIds, seedIds } from '../../../dev/m365/seed';
import { startLocalStack, type LocalStack } from '../../../dev/stack';
import { loadConfig } from '../../../shared/config';
import { silentLog } from '../../../shared/log';
import { callbackIdFor } from '../../../shared/outbox';
import { reconciliationKey, type Reconciliation } from '../../../shared/replication/rules';
import { createServices, type Services } from '../../../shared/services';
import { replicationInterrupted } from '../../helpers/replication';
import { uniquePrefix } from '../../helpers/stack';
import { consentedCustomer } from '../../helpers/consent';

/**
 * What user delta cannot tell: each user's Teams voice configuration (userConfigurations, no delta,
 * read on its own schedule and per user after a push) and directory role revocations
 * (directoryRoles delta). Against Azurite and a private simulated Microsoft 365; the customer
 * consents through onboarding's own pages, so the grant holds exactly the scopes the app asks for.
 */
let stack: LocalStack;
let services: Services;
let tableWrites = 0;
let customerId: string;
/** Our clock, moved forward to make the hourly voice refresh due. */
let offsetMs = 0;
const c = seedIds.contoso;
const teamsCommsAdmin = roleTemplateIds['Teams Communications Administrator'];
const userAdmin = roleTemplateIds['User Administrator'];

beforeAll(async () => {
  stack = await startLocalStack({ ports: 'free', quiet: true });
  const settings: Record<string, string> = {
    ...stack.settings,
    STORAGE_NAME_PREFIX: uniquePrefix(),
    // Callbacks are queued (delivery to this closed port fails later, which this file does not wait for).
    ORDERS_CALLBACK_URL: 'https://127.0.0.1:9/ordering-system/callbacks',
  };
  process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER;
  services = createServices(loadConfig(settings), {
    now: () => new Date(Date.now() + offsetMs),
    observeTables: ({ method }) => {
      if (method !== 'GET') tableWrites++;
    },
  });
  customerId = `voice-${Date.now().toString(36)}`;
  await consentedCustomer(services, { id: customerId, name: 'Contoso', adminEmail: 'patti@contoso.com' });
  const portal = stack.m365.portal;
  portal.setVoice(c.tenantId, c.user, {
    telephoneNumbers: ['+14255551001'],
    voiceRoutingPolicy: 'Unrestricted',
    dialPlan: 'US-Redmond',
    enterpriseVoice: true,
    policies: { TeamsMeetingPolicy: 'AllOn' },
  });
  portal.setVoice(c.tenantId, c.teamsAdmin, {
    telephoneNumbers: ['+14255551002;ext=2'],
    enterpriseVoice: true,
  });
  portal.addRoleMember(c.tenantId, userAdmin, c.user);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const pk = () => customerId.toLowerCase();
async function voiceRows() {
  const out = [];
  for await (const r of services.replication.repos.voice.listAll({ partitionKey: pk() })) out.push(r.value);
  return out;
}
async function roleRows() {
  const out: string[] = [];
  for await (const r of services.replication.repos.roles.listAll({ partitionKey: pk() }))
    out.push(`${r.value.roleTemplateId}|${r.value.memberId}`);
  return out.sort();
}
function truthRoles(): string[] {
  const t = stack.m365.tenants.find((x) => x.id === c.tenantId)!;
  return t.users.flatMap((u) => u.roleTemplateIds.map((r) => `${r}|${u.id}`)).sort();
}
async function revocations() {
  const audit = await services.audit.list({ customerId, limit: 100 });
  return audit.items.filter((e) => e.action === 'replication.user.adminRoleRevoked');
}
const hour = 3600 * 1000;

describe('Teams voice configurations', () => {
  it('are read on the first run and shown on the user: numbers, voice routing policy, dial plan, Enterprise Voice', async () => {
    const first = await services.replication.runSync(customerId, silentLog);
    expect(first).toMatchObject({ outcome: 'synced', full: true, voice: { written: 4, deleted: 0 } });
    const user = await services.replication.getUser(customerId, c.user);
    expect(user.voice).toMatchObject({
      primaryNumber: '+14255551001',
      telephoneNumbers: [{ telephoneNumber: '+14255551001', assignmentCategory: 'primary' }],
      voiceRoutingPolicy: 'Unrestricted',
      dialPlan: 'US-Redmond',
      enterpriseVoiceEnabled: true,
    });
    const list = await services.replication.listUsers(customerId, {});
    expect(list.items.find((u) => u.id === c.teamsAdmin)?.primaryNumber).toBe('+14255551002;ext=2');
    expect(list.items.find((u) => u.id === c.admin)?.primaryNumber).toBeNull();
    expect((await services.replication.getUser(customerId, c.admin)).voice).toMatchObject({
      telephoneNumbers: [],
      voiceRoutingPolicy: null,
      enterpriseVoiceEnabled: false,
    });
  });

  it('are refreshed on their schedule only; a refresh with nothing changed writes no voice row', async () => {
    const portal = stack.m365.portal;
    portal.setVoice(c.tenantId, c.user, { voiceRoutingPolicy: 'International' });
    portal.resetGraphRequests();
    tableWrites = 0;
    const early = await services.replication.runSync(customerId, silentLog);
    expect(early).not.toHaveProperty('voice');
    expect(stack.m365.portal.graphRequests(c.tenantId)).toBe(2);
    expect(tableWrites).toBe(0);
    expect((await services.replication.getUser(customerId, c.user)).voice?.voiceRoutingPolicy).toBe(
      'Unrestricted',
    );

    offsetMs += hour + 60_000;
    const due = await services.replication.runSync(customerId, silentLog);
    expect(due).toMatchObject({ voice: { written: 1, deleted: 0 } });
    expect((await services.replication.getUser(customerId, c.user)).voice?.voiceRoutingPolicy).toBe(
      'International',
    );

    offsetMs += hour + 60_000;
    const before = (await voiceRows()).map((v) => v.updatedAt).sort();
    const unchanged = await services.replication.runSync(customerId, silentLog);
    expect(unchanged).toMatchObject({ voice: { written: 0, deleted: 0 } });
    expect((await voiceRows()).map((v) => v.updatedAt).sort()).toEqual(before);
  });

  it('follow @odata.nextLink over every page, and drop the rows of users no longer in the tenant', async () => {
    const portal = stack.m365.portal;
    portal.setTeamsPaging({ pageSize: 1 });
    portal.deleteUser(c.tenantId, c.guest, { permanent: true });
    offsetMs += hour + 60_000;
    portal.resetGraphRequests();
    const run = await services.replication.runSync(customerId, silentLog);
    portal.setTeamsPaging({ pageSize: 100 });
    const users = stack.m365.tenants.find((t) => t.id === c.tenantId)!.users;
    expect(run).toMatchObject({ voice: { pages: users.length, written: 0, deleted: 1 } });
    expect((await voiceRows()).map((v) => v.userId).sort()).toEqual(users.map((u) => u.id).sort());
  });

  it('refreshVoiceUser reads one user right after a push; unchanged writes nothing', async () => {
    stack.m365.portal.setVoice(c.tenantId, c.admin, {
      telephoneNumbers: ['+14255551000'],
      voiceRoutingPolicy: 'Unrestricted',
      enterpriseVoice: true,
    });
    expect(await services.replication.refreshVoiceUser(customerId, c.admin)).toEqual({ outcome: 'written' });
    expect((await services.replication.getUser(customerId, c.admin)).voice).toMatchObject({
      primaryNumber: '+14255551000',
      voiceRoutingPolicy: 'Unrestricted',
      enterpriseVoiceEnabled: true,
    });
    const row = () => services.replication.repos.voice.get(pk(), c.admin);
    const etag = (await row())?.etag;
    expect(await services.replication.refreshVoiceUser(customerId, c.admin)).toEqual({
      outcome: 'unchanged',
    });
    expect((await row())?.etag).toBe(etag);
    expect(
      await services.replication.refreshVoiceUser(customerId, '00000000-0000-0000-0000-00000000dead'),
    ).toEqual({
      outcome: 'unchanged',
    });
  });

  it('a long Retry-After on the voice read gives the tenant back to the queue with that delay, and the refresh stays due', async () => {
    offsetMs += hour + 60_000;
    // The run's first two requests (users, groups delta) pass; roles and voice are due — voice is the 4th.
    const replication = replicationInterrupted(services, (url) => {
      if (url.includes('/admin/teams/'))
        stack.m365.portal.throttle({ tenantId: c.tenantId, times: 1, retryAfter: '45' });
    });
    expect(await replication.runSync(customerId, silentLog)).toEqual({
      outcome: 'requeued',
      delaySeconds: 45,
    });
    expect(await services.replication.syncState(customerId)).toMatchObject({ result: 'throttled' });
    expect(await services.replication.mailbox.pending(customerId)).toBeGreaterThan(0);
    // The message comes back after its delay: Microsoft lets the tenant through again.
    stack.m365.advanceClock(46);
    offsetMs += 46_000;
    const next = await services.replication.runSync(customerId, silentLog);
    expect(next).toMatchObject({ outcome: 'synced', voice: { written: 0 } });
  });
});

describe('admin role revoked', () => {
  it('tracks who holds which role, and a revocation becomes one audit entry and one status callback, not repeated', async () => {
    offsetMs += hour;
    await services.replication.runSync(customerId, silentLog);
    expect(await roleRows()).toEqual(truthRoles());
    const before = (await revocations()).length;

    stack.m365.portal.removeRoleMember(c.tenantId, teamsCommsAdmin, c.teamsAdmin);
    // Not in users delta: a run before the roles check is due sees nothing.
    const early = await services.replication.runSync(customerId, silentLog);
    expect(early).not.toHaveProperty('roles');
    expect(await revocations()).toHaveLength(before);

    offsetMs += 16 * 60_000;
    const run = await services.replication.runSync(customerId, silentLog);
    expect(run).toMatchObject({ roles: { revoked: 1, reconciliations: 1 } });
    const found = await revocations();
    expect(found).toHaveLength(before + 1);
    const entry = found[0]!;
    expect(entry.details).toMatchObject({
      userId: c.teamsAdmin,
      userPrincipalName: 'lynne@contoso.com',
      role: 'Teams Communications Administrator',
      roleTemplateId: teamsCommsAdmin,
    });
    const r = entry.details as unknown as Reconciliation & { since: string };
    const callback = await services.outbox.get(callbackIdFor(reconciliationKey(customerId, r, r.since)));
    expect(callback).toMatchObject({
      type: 'user.adminRoleRevoked',
      data: expect.objectContaining({ customerId }),
    });
    expect(await roleRows()).toEqual(truthRoles());

    offsetMs += 16 * 60_000;
    const again = await services.replication.runSync(customerId, silentLog);
    expect(again).toMatchObject({ roles: { revoked: 0, reconciliations: 0 } });
    expect(await revocations()).toHaveLength(before + 1);
  });

  it('a user removed from the tenant is not also reported as losing its roles', async () => {
    const portal = stack.m365.portal;
    const added = portal.addUser(c.tenantId, { userPrincipalName: 'temp.admin@contoso.com' });
    portal.addRoleMember(c.tenantId, userAdmin, added.id);
    offsetMs += 16 * 60_000;
    await services.replication.runSync(customerId, silentLog);
    expect(await roleRows()).toContain(`${userAdmin}|${added.id}`);
    const before = (await revocations()).length;
    portal.deleteUser(c.tenantId, added.id);
    offsetMs += 16 * 60_000;
    await services.replication.runSync(customerId, silentLog);
    expect(await roleRows()).toEqual(truthRoles());
    expect(await revocations()).toHaveLength(before);
  });

  it('a worker killed half-way reports each revocation once, and a reset delta token finds what was missed', async () => {
    const portal = stack.m365.portal;
    portal.addRoleMember(c.tenantId, teamsCommsAdmin, c.teamsAdmin);
    offsetMs += 16 * 60_000;
    await services.replication.runSync(customerId, silentLog);
    const before = (await revocations()).length;
    portal.removeRoleMember(c.tenantId, teamsCommsAdmin, c.teamsAdmin);
    portal.removeRoleMember(c.tenantId, userAdmin, c.user);
    portal.setDeltaPaging({ pageSize: 1 });
    let rolePages = 0;
    const dying = replicationInterrupted(services, (url) => {
      // The process dies asking for the second page of roles.
      if (url.includes('/directoryRoles/') && ++rolePages > 1) throw new Error('process killed');
    });
    offsetMs += 16 * 60_000;
    await expect(dying.runSync(customerId, silentLog)).rejects.toThrow('process killed');
    expect(await revocations()).toHaveLength(before + 1);
    const after = await services.replication.runSync(customerId, silentLog);
    portal.setDeltaPaging({ pageSize: 200 });
    expect(after).toMatchObject({ outcome: 'synced', roles: { reconciliations: 1 } });
    const found = await revocations();
    expect(found).toHaveLength(before + 2);
    expect(
      found
        .slice(0, 2)
        .map((e) => e.target)
        .sort(),
    ).toEqual([c.teamsAdmin, c.user].sort());
    expect(await roleRows()).toEqual(truthRoles());

    // Revoked while our delta token was reset: the full round finds it by absence.
    portal.addRoleMember(c.tenantId, userAdmin, c.user);
    offsetMs += 16 * 60_000;
    await services.replication.runSync(customerId, silentLog);
    portal.resetDeltaTokens(c.tenantId, '410');
    portal.removeRoleMember(c.tenantId, userAdmin, c.user);
    offsetMs += 16 * 60_000;
    await services.replication.runSync(customerId, silentLog);
    expect(await revocations()).toHaveLength(before + 3);
    expect(await roleRows()).toEqual(truthRoles());
  });
});
