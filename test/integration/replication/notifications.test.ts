import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../../../dev/host';
import { seedIds } from '../../../dev/m365/seed';
import { freePort } from '../../../dev/ports';
import { startLocalStack, type LocalStack } from '../../../dev/stack';
import { ensureDevCertificates } from '../../../dev/tls/certs';
import { loadConfig } from '../../../shared/config';
import { silentLog } from '../../../shared/log';
import { clientStateFor, GRAPH_MAX_LIFETIME_MINUTES } from '../../../shared/replication/notification-rules';
import { createSubscriptionRepository } from '../../../shared/replication/notification-rows';
import {
  CLIENT_STATE_KEY_SECRET,
  createNotifications,
  KEY_ABSENT_RECHECK_MS,
  RECEIVE_CONCURRENCY,
} from '../../../shared/replication/notifications';
import { createServices, type Services } from '../../../shared/services';
import { startTestHost } from '../../helpers/host';
import { uniquePrefix } from '../../helpers/stack';
import { sleep, waitFor } from '../../helpers/wait';
import { consentedCustomer } from '../../helpers/consent';

/**
 * Change notifications end to end: a private simulated Microsoft 365 (its portal changes the
 * directory and its Graph delivers notifications), the app's real trigger list in the local host on
 * https at PUBLIC_BASE_URL (so Graph's validation and deliveries reach our routes), and Azurite. The
 * timer never runs here: what reaches the tables arrives through notifications alone.
 */
let stack: LocalStack;
let host: Host;
let services: Services;
let customerId: string;
let clockOffsetMs = 0;
let settings: Record<string, string>;
const c = seedIds.contoso;
const DAY = 24 * 3600_000;

beforeAll(async () => {
  const port = await freePort();
  const publicBaseUrl = `https://127.0.0.1:${port}`;
  stack = await startLocalStack({ ports: 'free', quiet: true, publicBaseUrl });
  settings = { ...stack.settings, STORAGE_NAME_PREFIX: uniquePrefix() };
  process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER;
  const certs = await ensureDevCertificates();
  host = await startTestHost(settings, { tls: { cert: certs.cert, key: certs.key }, port });
  services = createServices(loadConfig(settings), { now: () => new Date(Date.now() + clockOffsetMs) });
  stack.m365.notifications.configure({ batchMs: 100, retryBaseMs: 200 });
  customerId = `ntf-${Date.now().toString(36)}`;
  await consentedCustomer(services, { id: customerId, name: 'Contoso', adminEmail: 'patti@contoso.com' });
  stack.m365.portal.addGroup(c.tenantId, { displayName: 'Sales', members: [c.user] });
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await stack?.stop();
});

const subs = () => stack.m365.notifications.subscriptions(c.tenantId);
const subOf = (resource: 'users' | 'groups') => subs().find((s) => s.resource === resource)!;
const cachedUser = async (id: string) =>
  (await services.replication.repos.users.get(customerId.toLowerCase(), id))?.value;
const deliver = (path: string, body: unknown) =>
  fetch(`${host.url}/api/replication/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(body),
  });
const idle = () =>
  waitFor(async () => (await services.replication.mailbox.pending(customerId)) === 0, 20_000);

describe('change notifications for a tenant', () => {
  it('answers the validation handshake with the decoded token as plain text, on both URLs', async () => {
    const token = 'Validation: Testing client application reachability <b>&amp;</b> 42';
    for (const path of ['notifications', 'lifecycle']) {
      const res = await fetch(
        `${host.url}/api/replication/${path}?validationToken=${encodeURIComponent(token)}`,
        { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' } },
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await res.text()).toBe(token);
    }
  });

  it('a delivery before any tenant subscribed is refused without writing to Key Vault', async () => {
    // Anyone can post here: on a fresh deployment that must not make the clientState key.
    const res = await deliver('notifications', {
      value: [
        {
          subscriptionId: '00000000-0000-0000-0000-000000000001',
          clientState: `${customerId}.${'A'.repeat(43)}`,
          changeType: 'updated',
          resource: `Users/${c.user}`,
          tenantId: c.tenantId,
        },
      ],
    });
    expect(res.status).toBe(202);
    expect(await services.secrets.get(CLIENT_STATE_KEY_SECRET)).toBeUndefined();
    expect(await services.replication.mailbox.pending(customerId)).toBe(0);
    // The host remembers the absence this long; the next test's run makes the key.
    await sleep(KEY_ABSENT_RECHECK_MS + 100);
  });

  it("the tenant's run subscribes to users and groups with the customer's token; the clientState is not stored", async () => {
    const run = await services.replication.runSync(customerId, silentLog);
    expect(run).toMatchObject({ outcome: 'synced', subscriptions: 'updated' });
    expect(
      subs()
        .map((s) => s.resource)
        .sort(),
    ).toEqual(['groups', 'users']);
    const users = subOf('users');
    expect(users.changeTypes).toEqual(['updated', 'deleted']);
    expect(users.notificationUrl).toBe(`${host.url}/api/replication/notifications`);
    expect(users.lifecycleNotificationUrl).toBe(`${host.url}/api/replication/lifecycle`);
    expect(users.creatorId).not.toBe(users.applicationId);
    expect(users.expiresAt - Date.now()).toBeLessThanOrEqual(GRAPH_MAX_LIFETIME_MINUTES * 60_000);
    expect(users.expiresAt - Date.now()).toBeGreaterThan(20 * DAY);
    // Both URLs passed Graph's handshake, through the host.
    const validations = stack.m365.notifications.attempts({ kind: 'validation' });
    expect(validations.filter((a) => a.ok)).toHaveLength(4);
    const row = await services.replication.notifications.read(customerId);
    expect(row).toMatchObject({ users: { id: users.id }, groups: { id: subOf('groups').id } });
    expect(JSON.stringify(row)).not.toContain(users.clientState!.split('.')[1]!);
    // A second run has nothing to do at Graph.
    stack.m365.portal.resetGraphRequests();
    expect(await services.replication.runSync(customerId, silentLog)).toMatchObject({
      subscriptions: 'current',
    });
    expect(stack.m365.portal.graphRequests(c.tenantId)).toBe(2);
    await idle();
  });

  it('a change in the portal reaches our tables through a notification alone', async () => {
    const started = Date.now();
    stack.m365.portal.updateUser(c.tenantId, c.user, { displayName: 'Alex via notification' });
    const row = await waitFor(async () => {
      const u = await cachedUser(c.user);
      return u?.displayName === 'Alex via notification' ? u : undefined;
    }, 20_000);
    expect(row.displayName).toBe('Alex via notification');
    expect(Date.now() - started).toBeLessThan(60_000);
    const delivered = stack.m365.notifications.attempts({
      kind: 'notification',
      subscriptionId: subOf('users').id,
    });
    expect(delivered.at(-1)).toMatchObject({ ok: true, status: 202 });
    await idle();
  });

  it('a wrong clientState, or a subscription we do not hold, changes nothing', async () => {
    await idle();
    const key = (await services.secrets.get(CLIENT_STATE_KEY_SECRET))!;
    const users = subOf('users');
    const item = (clientState: string | null, subscriptionId = users.id) => ({
      subscriptionId,
      clientState,
      changeType: 'updated',
      resource: `Users/${c.user}`,
      tenantId: c.tenantId,
      resourceData: { '@odata.type': '#Microsoft.Graph.User', id: c.user },
    });
    const forged = [
      item(null),
      item('nonsense'),
      item(`${customerId}.${'A'.repeat(43)}`),
      item(clientStateFor('another key', customerId)),
      item(clientStateFor(key, 'someone-else')),
      item(clientStateFor(key, customerId), '00000000-0000-0000-0000-000000000000'),
    ];
    const res = await deliver('notifications', { value: forged });
    expect(res.status).toBe(202);
    const lifecycle = await deliver('lifecycle', {
      value: [{ ...item('nonsense'), lifecycleEvent: 'reauthorizationRequired' }],
    });
    expect(lifecycle.status).toBe(202);
    expect(await services.replication.mailbox.pending(customerId)).toBe(0);
    expect(await services.replication.mailbox.pending('someone-else')).toBe(0);
    const garbage = await fetch(`${host.url}/api/replication/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"value": [',
    });
    expect(garbage.status).toBe(400);
  });

  it('a storm of notifications makes exactly one sync run', async () => {
    await idle();
    await sleep(2500);
    const key = (await services.secrets.get(CLIENT_STATE_KEY_SECRET))!;
    const before = stack.m365.portal.deltaRounds(c.tenantId, 'users');
    const users = subOf('users');
    for (let i = 0; i < 10; i++) stack.m365.portal.updateUser(c.tenantId, c.user, { jobTitle: `Storm ${i}` });
    const storm = Array.from({ length: 30 }, () =>
      deliver('notifications', {
        value: [
          {
            subscriptionId: users.id,
            clientState: clientStateFor(key, customerId),
            changeType: 'updated',
            resource: `Users/${c.user}`,
            tenantId: c.tenantId,
          },
        ],
      }),
    );
    expect((await Promise.all(storm)).map((r) => r.status)).toEqual(Array(30).fill(202));
    await waitFor(async () => (await cachedUser(c.user))?.jobTitle === 'Storm 9', 20_000);
    await idle();
    await sleep(3000);
    expect(stack.m365.portal.deltaRounds(c.tenantId, 'users') - before).toBe(1);
  });

  it('reauthorizationRequired: the lifecycle event is acknowledged and the next run reauthorizes', async () => {
    await idle();
    const users = subOf('users');
    const sent = await stack.m365.notifications.lifecycle(users.id, 'reauthorizationRequired');
    expect(sent).toMatchObject({ ok: true, status: 202 });
    await waitFor(() => stack.m365.notifications.reauthorizations().includes(users.id), 20_000);
    // Deliveries held while Graph waited for the reauthorization go out again.
    stack.m365.portal.updateUser(c.tenantId, c.user, { department: 'Reauthorized' });
    await waitFor(async () => (await cachedUser(c.user))?.department === 'Reauthorized', 20_000);
    await idle();
  });

  it('subscriptionRemoved: the next run subscribes again', async () => {
    const groups = subOf('groups');
    await stack.m365.notifications.lifecycle(groups.id, 'subscriptionRemoved');
    const again = await waitFor(
      () => subs().find((s) => s.resource === 'groups' && s.id !== groups.id),
      20_000,
    );
    await waitFor(
      async () => (await services.replication.notifications.read(customerId))?.groups?.id === again.id,
    );
    await idle();
  });

  it('suspended: the notifications still arriving bring the run that deletes its subscriptions at Microsoft', async () => {
    await idle();
    expect(subs()).toHaveLength(2);
    await services.customers.setStatus(customerId, 'suspended', 'test', 'unpaid');
    // No timer here (and the timer skips a suspended customer): only the delivery can start the run.
    stack.m365.portal.updateUser(c.tenantId, c.user, { department: 'After suspension' });
    await waitFor(() => subs().length === 0, 20_000);
    await waitFor(async () => (await services.replication.notifications.read(customerId)) === undefined);
    expect(
      stack.m365.notifications.attempts({ kind: 'notification' }).filter((a) => a.ok).length,
    ).toBeGreaterThan(0);
    expect((await cachedUser(c.user))?.department).not.toBe('After suspension');
    // Our clock and Microsoft's still agree here (the host's cached token is valid at Graph). Resumed:
    await services.customers.setStatus(customerId, 'active', 'test');
    expect(await services.replication.runSync(customerId, silentLog)).toMatchObject({
      subscriptions: 'updated',
    });
    expect(subs()).toHaveLength(2);
  });

  it("a create whose record was lost: strays of ours on any page of Graph's list are deleted", async () => {
    await idle();
    const graphRoot = `${loadConfig(settings).graph.baseUrl.replace(/\/+$/, '')}/v1.0`;
    const { accessToken } = await services.tokens.redeem(customerId);
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${graphRoot}${path}`, {
        method,
        headers: { Authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    // Start clean, then a subscription of the same user and app that is not ours heads the list.
    await services.replication.notifications.retire(customerId, async () => accessToken, silentLog);
    expect(subs()).toEqual([]);
    const foreign = await call('POST', '/subscriptions', {
      changeType: 'updated',
      notificationUrl: `${host.url}/api/replication/lifecycle`,
      resource: 'users',
      expirationDateTime: new Date(Date.now() + DAY).toISOString(),
    });
    expect(foreign.status).toBe(201);
    const foreignId = ((await foreign.json()) as { id: string }).id;
    stack.m365.notifications.configure({ listPageSize: 1 });
    try {
      await services.replication.runSync(customerId, silentLog);
      const lost = subs().filter((s) => s.id !== foreignId);
      expect(lost).toHaveLength(2);
      // The record of them is lost: the next run makes new ones and must find the old on pages 2 and 3.
      await services.replication.notifications.retire(customerId, async () => 'no token', silentLog);
      await services.replication.runSync(customerId, silentLog);
      const ours = subs().filter((s) => s.notificationUrl === `${host.url}/api/replication/notifications`);
      expect(ours.map((s) => s.resource).sort()).toEqual(['groups', 'users']);
      for (const old of lost) expect(subs().map((s) => s.id)).not.toContain(old.id);
      expect(subs().map((s) => s.id)).toContain(foreignId);
    } finally {
      stack.m365.notifications.configure({ listPageSize: 100 });
      await call('DELETE', `/subscriptions/${foreignId}`);
    }
    await idle();
  });

  it('renews both subscriptions by PATCH before they expire, keeping their ids', async () => {
    await idle();
    const before = subs().map((s) => ({ id: s.id, expiresAt: s.expiresAt }));
    // 23 days on: a week is left, inside the renewal margin.
    clockOffsetMs += 23 * DAY;
    stack.m365.advanceClock(23 * 24 * 3600);
    const run = await services.replication.runSync(customerId, silentLog);
    expect(run).toMatchObject({ outcome: 'synced', subscriptions: 'updated' });
    const after = subs();
    expect(after.map((s) => s.id).sort()).toEqual(before.map((s) => s.id).sort());
    for (const s of after) {
      const old = before.find((b) => b.id === s.id)!;
      expect(s.expiresAt).toBeGreaterThan(old.expiresAt + 20 * DAY);
    }
    const row = await services.replication.notifications.read(customerId);
    expect(Date.parse(row!.users!.expiresAt)).toBe(subOf('users').expiresAt);
  });

  it('a subscription Graph removed without a lifecycle event is found gone within a day and made again', async () => {
    await idle();
    const users = subOf('users');
    stack.m365.notifications.drop(users.id);
    // Checked by the renewal just now: the run trusts its row until a day has passed.
    expect(await services.replication.runSync(customerId, silentLog)).toMatchObject({
      subscriptions: 'current',
    });
    clockOffsetMs += DAY + 60_000;
    stack.m365.advanceClock(24 * 3600 + 60);
    const run = await services.replication.runSync(customerId, silentLog);
    expect(run).toMatchObject({ outcome: 'synced', subscriptions: 'updated' });
    const again = subOf('users');
    expect(again.id).not.toBe(users.id);
    expect((await services.replication.notifications.read(customerId))?.users?.id).toBe(again.id);
    // Found still there, the groups subscription was kept.
    expect(subs()).toHaveLength(2);
  });
});

describe('a customer whose service stops', () => {
  it('suspended: the next run deletes its subscriptions at Microsoft and forgets them; resumed: it subscribes again', async () => {
    expect(subs()).toHaveLength(2);
    await services.customers.setStatus(customerId, 'suspended', 'test', 'unpaid');
    const stopped = await services.replication.runSync(customerId, silentLog);
    expect(stopped).toMatchObject({ outcome: 'skipped', reason: 'suspended' });
    expect(subs()).toEqual([]);
    expect(await services.replication.notifications.read(customerId)).toBeUndefined();
    await services.customers.setStatus(customerId, 'active', 'test');
    const resumed = await services.replication.runSync(customerId, silentLog);
    expect(resumed).toMatchObject({ outcome: 'synced' });
    expect(
      subs()
        .map((s) => s.resource)
        .sort(),
    ).toEqual(['groups', 'users']);
  });
});

describe('a delivery naming many tenants', () => {
  it('asks each tenant for one run, several tenants at a time (Graph wants the answer within 3 s)', async () => {
    const key = await services.secrets.get(CLIENT_STATE_KEY_SECRET);
    expect(key).toBeDefined();
    const repo = createSubscriptionRepository(services.storage);
    const tenants = Array.from({ length: 20 }, (_, i) => ({
      customerId: `many-${Date.now().toString(36)}-${i}`,
      subscriptionId: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    }));
    for (const t of tenants)
      await repo.upsert({
        customerId: t.customerId,
        users: { id: t.subscriptionId, expiresAt: new Date(Date.now() + DAY).toISOString(), keyId: 'k' },
        updatedAt: new Date().toISOString(),
      });
    let inFlight = 0;
    let most = 0;
    const posted: string[] = [];
    const notifications = createNotifications({
      subscriptions: repo,
      secrets: services.secrets,
      graphRoot: 'https://graph.invalid/v1.0',
      publicBaseUrl: host.url,
      // The real mailbox, held a moment so that overlapping posts show.
      post: async (id, item, options) => {
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          await sleep(50);
          posted.push(id);
          return await services.replication.mailbox.post(id, item, options);
        } finally {
          inFlight--;
        }
      },
      now: () => new Date(),
    });
    const received = await notifications.receive(
      {
        value: tenants.map((t) => ({
          subscriptionId: t.subscriptionId,
          clientState: clientStateFor(key!, t.customerId),
          changeType: 'updated',
          resource: 'Users/x',
        })),
      },
      'change',
      silentLog,
    );
    expect(received).toMatchObject({ accepted: 20, tenants: 20, rejected: 0, unknown: 0 });
    expect(posted.sort()).toEqual(tenants.map((t) => t.customerId).sort());
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(RECEIVE_CONCURRENCY);
  });
});
