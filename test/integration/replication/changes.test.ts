import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changesOf, skus } from '../../../dev/m365/directory';
import { telephonyOf } from '../../../dev/m365/graph/telephony';
import { seedIds } from '../../../dev/m365/seed';
import { startLocalStack, type LocalStack } from '../../../dev/stack';
import { loadConfig } from '../../../shared/config';
import { ValidationError } from '../../../shared/errors';
import { createGraphWriter } from '../../../shared/replication/changes/graph-writes';
import { createPush } from '../../../shared/replication/changes/push';
import { silentLog } from '../../../shared/log';
import { createServices, type Services } from '../../../shared/services';
import { startFaultyStack, type FaultyStack } from '../../helpers/faults';
import { uniquePrefix } from '../../helpers/stack';
import { consentAs } from '../../helpers/consent';

/**
 * Changes back to Microsoft 365 against the real pieces: Azurite, a private simulated Microsoft 365
 * (its $batch, user writes and Teams number assignment), the customer consented through onboarding's
 * own pages. The clock is the test's: quiet periods and Retry-Afters pass when the test says so.
 */
let stack: LocalStack;
let services: Services;
let settings: Record<string, string>;
let clock = Date.now();
const now = () => new Date(clock);
const graphCalls: string[] = [];
const c = seedIds.contoso;

const recording =
  (sink: string[], after?: (method: string, url: string) => void): typeof fetch =>
  async (input, init) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    sink.push(`${method} ${url.replace(/^https:\/\/[^/]+\/v1\.0/, '')}`);
    const res = await fetch(input, init);
    after?.(method, url);
    return res;
  };

const consent = (s: Services, customerId: string) => consentAs(s, customerId, 'patti@contoso.com');

let customerId: string;
beforeAll(async () => {
  stack = await startLocalStack({ ports: 'free', quiet: true });
  settings = { ...stack.settings, STORAGE_NAME_PREFIX: uniquePrefix(), REPLICATION_PUSH_QUIET_MINUTES: '5' };
  process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER;
  services = createServices(loadConfig(settings), { now, graphFetch: recording(graphCalls) });
  customerId = `chg-${Date.now().toString(36)}`;
  await services.customers.create(
    { id: customerId, name: 'Contoso', adminEmail: 'patti@contoso.com' },
    'test',
  );
  await consent(services, customerId);
  stack.m365.portal.setSubscribedSkus(c.tenantId, [
    { skuId: skus.SPE_E3, skuPartNumber: 'SPE_E3', enabledUnits: 100 },
    { skuId: skus.ENTERPRISEPACK, skuPartNumber: 'ENTERPRISEPACK', enabledUnits: 1 },
  ]);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

const tenant = () => stack.m365.tenants.find((t) => t.id === c.tenantId)!;
const user = (id: string) => tenant().users.find((u) => u.id === id)!;
const changes = () => services.replication.changes;
const rows = async (status?: string) =>
  (await changes().list(customerId, { pageSize: '500', ...(status ? { status } : {}) })).items;
const push = () => changes().handle(customerId, `msg:${randomUUID()}`, silentLog);
/** What the timer does every minute: the sweep wakes the tenant's push when it is due, the worker runs it. */
const sweepAndPush = async () => {
  await services.jobs.due.sweep(silentLog);
  return push();
};
const batches = () => graphCalls.filter((l) => l === 'POST /$batch').length;

describe('queueing changes', () => {
  it('bad input is a 400 naming the field, and changes nothing', async () => {
    const bad = [
      { changes: [{ userId: 'not-a-guid', department: 'Sales' }] },
      { changes: [{ userId: c.user, usageLocation: 'XX' }] },
      { changes: [{ userId: c.user, usageLocation: 'gb' }] },
      { changes: [{ userId: c.user, phoneNumber: '0044 20 7946 0000' }] },
      { changes: [{ userId: c.user, addLicenses: ['E3'] }] },
      { changes: [{ userId: c.user }] },
      { changes: [] },
      { changes: [{ userId: c.user, department: 'Sales', password: 'x' }] },
    ];
    for (const body of bad) {
      const e = await changes()
        .enqueue(customerId, body, 'operator')
        .catch((x: unknown) => x);
      expect(e, JSON.stringify(body)).toBeInstanceOf(ValidationError);
    }
    expect(await rows()).toHaveLength(0);
    await expect(
      changes().enqueue('no-such-customer', { changes: [{ userId: c.user, department: 'X' }] }, 'op'),
    ).rejects.toMatchObject({ status: 404 });
  });
});

describe('pushing', () => {
  it('45 changes wait out the quiet period, then go in 3 $batch requests; each result is kept; a delta sync follows', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 45; i++) {
      const u = stack.m365.portal.addUser(c.tenantId, {
        userPrincipalName: `bulk${i}.${Date.now()}@contoso.com`,
        usageLocation: 'US',
      });
      ids.push(u.id);
    }
    const queued = await changes().enqueue(
      customerId,
      { changes: ids.map((userId, i) => ({ userId, department: `Dept ${i}` })) },
      'operator:alice',
    );
    expect(queued.ids).toHaveLength(45);
    const before = batches();
    // Four minutes on: still quiet, the sweep wakes nothing.
    clock += 4 * 60_000;
    const early = await services.jobs.due.sweep(silentLog);
    expect(early.requeued['replication.push'] ?? 0).toBe(0);
    clock += 61_000;
    const swept = await services.jobs.due.sweep(silentLog);
    expect(swept.requeued['replication.push']).toBe(1);
    const outcome = await push();
    expect(outcome).toMatchObject({ outcome: 'pushed', succeeded: 45, batches: 3 });
    expect(batches() - before).toBe(3);
    expect(ids.map((id) => user(id).department)).toEqual(ids.map((_, i) => `Dept ${i}`));
    const done = await rows('succeeded');
    expect(done).toHaveLength(45);
    expect(done[0]).toMatchObject({ attempts: 1, result: { status: 204 }, notBefore: null });
    expect(await services.replication.mailbox.pending(customerId)).toBeGreaterThan(0);
    const audit = await services.audit.list({ customerId });
    expect(
      audit.items.some((a) => a.action === 'replication.changes.queued' && a.actor === 'operator:alice'),
    ).toBe(true);
    expect(
      audit.items.some((a) => a.action === 'replication.changes.pushed' && a.actor === 'operator:alice'),
    ).toBe(true);
  });

  it('a usage location goes before the licence that needs it; an unknown licence fails with Microsoft’s words; replicate pushes at once', async () => {
    const u = stack.m365.portal.addUser(c.tenantId, { userPrincipalName: `lic.${Date.now()}@contoso.com` });
    const unknownSku = randomUUID();
    const q = await changes().enqueue(
      customerId,
      {
        changes: [
          { userId: u.id, usageLocation: 'GB', addLicenses: [skus.SPE_E3] },
          { userId: c.user, addLicenses: [unknownSku] },
        ],
      },
      'operator',
    );
    expect(q.ids).toHaveLength(3);
    const answer = await changes().replicate(customerId, 'operator');
    expect(answer.open).toBe(3);
    await push();
    expect(user(u.id).usageLocation).toBe('GB');
    expect(changesOf(tenant()).licenses[u.id]?.map((l) => l.skuId)).toEqual([skus.SPE_E3]);
    const all = await rows();
    const mine = all.filter((r) => q.ids.includes(r.id));
    expect(mine.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'failed']);
    expect(mine[2]!.result).toMatchObject({ status: 400, code: 'Request_BadRequest' });
    expect(mine[2]!.result?.message).toContain(unknownSku);
  });

  it('profiles go first and licences after, each in fully parallel batches: one failure never fails another user; a licence follows its profile change', async () => {
    const a = stack.m365.portal.addUser(c.tenantId, { userPrincipalName: `par.${Date.now()}@contoso.com` });
    const ghost = randomUUID();
    const q = await changes().enqueue(
      customerId,
      {
        changes: [
          { userId: ghost, usageLocation: 'GB', addLicenses: [skus.SPE_E3] },
          { userId: a.id, usageLocation: 'GB', addLicenses: [skus.SPE_E3] },
          { userId: c.user, department: 'Parallel' },
        ],
      },
      'operator',
    );
    const sent = batches();
    await changes().replicate(customerId, 'operator');
    await push();
    // The simulator refuses a mixed batch whole, as Graph does: fully parallel requests went (the
    // profiles; the users' assigned licences read; the licences).
    expect(batches() - sent).toBe(3);
    const mine = (await rows()).filter((r) => q.ids.includes(r.id));
    expect(mine.map((r) => [r.kind, r.status])).toEqual([
      ['profile', 'failed'],
      ['licences', 'failed'],
      ['profile', 'succeeded'],
      ['licences', 'succeeded'],
      ['profile', 'succeeded'],
    ]);
    expect(mine[0]!.result).toMatchObject({ status: 404 });
    expect(mine[1]!.result).toMatchObject({ status: 424, code: 'FailedDependency' });
    expect(mine[1]!.result?.message).toContain('depends on the profile change, which failed');
    expect(changesOf(tenant()).licenses[a.id]?.map((l) => l.skuId)).toEqual([skus.SPE_E3]);
    expect(user(c.user).department).toBe('Parallel');

    // Its profile change throttled: the licence waits with it (not sent), then both go.
    const b = stack.m365.portal.addUser(c.tenantId, { userPrincipalName: `thr.${Date.now()}@contoso.com` });
    stack.m365.portal.throttle({ tenantId: c.tenantId, times: 1, retryAfter: '3', inBatch: true });
    const t = await changes().enqueue(
      customerId,
      { changes: [{ userId: b.id, usageLocation: 'FR', addLicenses: [skus.SPE_E3] }] },
      'operator',
    );
    const before = batches();
    await changes().replicate(customerId, 'operator');
    await push();
    expect(batches() - before).toBe(1);
    const waiting = (await rows()).filter((r) => t.ids.includes(r.id));
    expect(waiting.map((r) => [r.status, r.attempts])).toEqual([
      ['throttled', 1],
      ['throttled', 0],
    ]);
    expect(waiting[1]!.notBefore).toBe(waiting[0]!.notBefore);
    clock += 3001;
    await sweepAndPush();
    const done = (await rows()).filter((r) => t.ids.includes(r.id));
    expect(done.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(changesOf(tenant()).licenses[b.id]?.map((l) => l.skuId)).toEqual([skus.SPE_E3]);
  });

  it('an edit queued while a push works out the next due time is never left without one', async () => {
    for (let round = 0; round < 8; round++) {
      await Promise.all([
        changes().pushTenant(customerId, true, silentLog),
        changes().enqueue(customerId, { changes: [{ userId: c.admin, department: `Race ${round}` }] }, 'op'),
      ]);
      const open: string[] = [];
      for await (const r of changes().repos.changes.listAll({ partitionKey: customerId.toLowerCase() }))
        if (r.value.status !== 'succeeded' && r.value.status !== 'failed') open.push(r.value.notBefore);
      const earliest = open.sort()[0];
      const due = await changes().nextPush(customerId);
      if (earliest !== undefined) expect(due !== undefined && due <= earliest, `round ${round}`).toBe(true);
    }
    await changes().pushTenant(customerId, true, silentLog);
  });

  it('licences are idempotent: a SKU the user holds keeps its disabled plans; a removal repeated after a lost answer succeeds', async () => {
    const u = stack.m365.portal.addUser(c.tenantId, {
      userPrincipalName: `idem.${Date.now()}@contoso.com`,
      usageLocation: 'US',
    });
    changesOf(tenant()).licenses[u.id] = [{ skuId: skus.SPE_E3, disabledPlans: ['plan-left-off'] }];
    const q = await changes().enqueue(
      customerId,
      { changes: [{ userId: u.id, addLicenses: [skus.SPE_E3] }] },
      'op',
    );
    await changes().replicate(customerId, 'op');
    await push();
    expect((await rows()).find((r) => r.id === q.ids[0])).toMatchObject({
      status: 'succeeded',
      result: { code: 'already_applied' },
    });
    expect(changesOf(tenant()).licenses[u.id]).toEqual([
      { skuId: skus.SPE_E3, disabledPlans: ['plan-left-off'] },
    ]);

    // A removal whose first attempt reached Microsoft but whose answer was lost (the worker died).
    const r = await changes().enqueue(
      customerId,
      { changes: [{ userId: u.id, removeLicenses: [skus.SPE_E3] }] },
      'op',
    );
    const stored = await changes().repos.changes.get(customerId.toLowerCase(), r.ids[0]!);
    await changes().repos.changes.update(
      { ...stored!.value, status: 'pushing', attempts: 1, notBefore: now().toISOString() },
      stored!.etag,
    );
    changesOf(tenant()).licenses[u.id] = [];
    const assigns = graphCalls.length;
    await changes().replicate(customerId, 'op');
    await push();
    expect((await rows()).find((x) => x.id === r.ids[0])).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      result: { code: 'already_applied' },
    });
    // Only the read went (in a $batch): no assignLicense was repeated.
    expect(graphCalls.slice(assigns).filter((l) => l === 'POST /$batch')).toHaveLength(1);
  });

  it('a throttled item waits for its own Retry-After (fractional seconds), even when an operator asks to push now', async () => {
    stack.m365.portal.throttle({ tenantId: c.tenantId, times: 1, retryAfter: '2.5', inBatch: true });
    const q = await changes().enqueue(
      customerId,
      {
        changes: [
          { userId: c.user, department: 'Throttled' },
          { userId: c.admin, department: 'Fine' },
        ],
      },
      'operator',
    );
    await changes().replicate(customerId, 'operator');
    const first = await push();
    expect(first).toMatchObject({ throttled: 1, succeeded: 1 });
    const mine = (await rows()).filter((r) => q.ids.includes(r.id));
    const throttled = mine.find((r) => r.status === 'throttled')!;
    expect(Date.parse(throttled.notBefore ?? '') - clock).toBe(2500);
    expect(throttled.result).toMatchObject({ status: 429 });
    const sent = batches();
    await changes().replicate(customerId, 'operator');
    await push();
    expect(batches()).toBe(sent);
    // The sweep takes what fell due before its run.
    clock += 2501;
    await sweepAndPush();
    expect(batches()).toBe(sent + 1);
    const after = (await rows()).filter((r) => q.ids.includes(r.id));
    expect(after.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(after.find((r) => r.id === throttled.id)!.attempts).toBe(2);
  });

  it('a Teams number: 202 and an operation polled at its due times until it succeeds; a number held by someone else fails', async () => {
    const q = await changes().enqueue(
      customerId,
      { changes: [{ userId: c.user, phoneNumber: '+14255550101' }] },
      'operator',
    );
    await changes().replicate(customerId, 'operator');
    await push();
    let row = (await rows()).find((r) => r.id === q.ids[0])!;
    expect(row).toMatchObject({ status: 'polling', result: { status: 202 } });
    for (let i = 0; i < 5 && row.status === 'polling'; i++) {
      // Not before its poll time, even when asked.
      const polls = graphCalls.length;
      await changes().replicate(customerId, 'operator');
      await push();
      expect(graphCalls.slice(polls)).toEqual([]);
      clock += 10_001;
      await sweepAndPush();
      row = (await rows()).find((r) => r.id === q.ids[0])!;
    }
    expect(row.status).toBe('succeeded');
    expect(telephonyOf(tenant()).numbers.find((n) => n.telephoneNumber === '+14255550101')).toMatchObject({
      assignmentTargetId: c.user,
      activationState: 'activated',
    });
    // Teams voice has no delta: the user's configuration was read again right after the push.
    const voice = await services.replication.repos.voice.get(customerId.toLowerCase(), c.user);
    expect(voice?.value).toMatchObject({ primaryNumber: '+14255550101' });
    const taken = await changes().enqueue(
      customerId,
      { changes: [{ userId: c.admin, phoneNumber: '+14255550101' }] },
      'operator',
    );
    await changes().replicate(customerId, 'operator');
    await push();
    for (let i = 0; i < 4; i++) {
      clock += 10_001;
      await sweepAndPush();
    }
    const failed = (await rows()).find((r) => r.id === taken.ids[0])!;
    expect(failed).toMatchObject({ status: 'failed', result: { code: 'assignment_failed' } });
  });
});

describe('an effect outside our storage happens once', () => {
  let faulty: FaultyStack;
  afterAll(async () => {
    await faulty?.close();
  });

  it('storage goes away right after Microsoft accepted a number assignment: the retry finds it and posts nothing more', async () => {
    faulty = await startFaultyStack(settings, stack.urls);
    process.env.IDENTITY_ENDPOINT = faulty.settings.IDENTITY_ENDPOINT;
    const calls: string[] = [];
    let blocked = false;
    const proxied = createServices(loadConfig(faulty.settings), {
      now,
      graphFetch: recording(calls, (method, url) => {
        if (!blocked && method === 'POST' && url.endsWith('/assignNumber')) {
          blocked = true;
          faulty.storage.block();
        }
      }),
    });
    const q = await proxied.replication.changes.enqueue(
      customerId,
      { changes: [{ userId: c.admin, phoneNumber: '+14255550199' }] },
      'operator',
    );
    await proxied.replication.changes.replicate(customerId, 'operator');
    const owner = `msg:${randomUUID()}`;
    await expect(proxied.replication.changes.handle(customerId, owner, silentLog)).rejects.toThrow();
    faulty.storage.unblock();
    expect((await rows()).find((r) => r.id === q.ids[0])).toMatchObject({ status: 'pushing', attempts: 1 });
    // The same message comes back (its worker died): it looks the number up instead of posting it again.
    await proxied.replication.changes.handle(customerId, owner, silentLog);
    for (let i = 0; i < 4; i++) {
      clock += 10_001;
      await proxied.jobs.due.sweep(silentLog);
      await proxied.replication.changes.handle(customerId, owner, silentLog);
    }
    expect(calls.filter((l) => l.endsWith('/assignNumber'))).toHaveLength(1);
    expect(telephonyOf(tenant()).numbers.filter((n) => n.telephoneNumber === '+14255550199')).toHaveLength(1);
    expect((await rows()).find((r) => r.id === q.ids[0])).toMatchObject({ status: 'succeeded' });
  }, 60_000);
});

describe('a number is posted once', () => {
  it('a number in pushing that Microsoft does not list yet is looked at again, not posted again, until its POST is plainly lost', async () => {
    process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
    const u = stack.m365.portal.addUser(c.tenantId, { userPrincipalName: `num.${Date.now()}@contoso.com` });
    const q = await changes().enqueue(
      customerId,
      { changes: [{ userId: u.id, phoneNumber: '+14255550177' }] },
      'op',
    );
    // As a worker leaves it when it died right after posting (an accepted operation not started yet).
    const stored = await changes().repos.changes.get(customerId.toLowerCase(), q.ids[0]!);
    await changes().repos.changes.update(
      {
        ...stored!.value,
        status: 'pushing',
        attempts: 1,
        notBefore: now().toISOString(),
        attemptedAt: now().toISOString(),
      },
      stored!.etag,
    );
    const posts = () => graphCalls.filter((l) => l.endsWith('/assignNumber')).length;
    const before = posts();
    await changes().replicate(customerId, 'op');
    await push();
    clock += 10_001;
    await sweepAndPush();
    expect(posts()).toBe(before);
    expect((await rows()).find((r) => r.id === q.ids[0])).toMatchObject({ status: 'pushing', attempts: 1 });
    // Ten minutes and nothing listed: the first POST was lost, it goes again (once).
    clock += 10 * 60_000;
    await sweepAndPush();
    expect(posts()).toBe(before + 1);
    for (let i = 0; i < 4; i++) {
      clock += 10_001;
      await sweepAndPush();
    }
    expect(posts()).toBe(before + 1);
    expect((await rows()).find((r) => r.id === q.ids[0])).toMatchObject({ status: 'succeeded', attempts: 2 });
  });
});

describe('a number assignment that never ends', () => {
  it('is polled until 30 minutes after its POST, then fails with assignment_timeout', async () => {
    process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
    const u = stack.m365.portal.addUser(c.tenantId, { userPrincipalName: `stuck.${Date.now()}@contoso.com` });
    telephonyOf(tenant()).stalled = true;
    try {
      const q = await changes().enqueue(
        customerId,
        { changes: [{ userId: u.id, phoneNumber: '+14255550166' }] },
        'op',
      );
      await changes().replicate(customerId, 'op');
      await push();
      const row = async () => (await rows()).find((r) => r.id === q.ids[0])!;
      expect(await row()).toMatchObject({ status: 'polling' });
      for (let minutes = 5; minutes < 30; minutes += 5) {
        clock += 5 * 60_000;
        await sweepAndPush();
        expect(await row(), `${minutes} minutes`).toMatchObject({ status: 'polling' });
      }
      clock += 5 * 60_000;
      await sweepAndPush();
      expect(await row()).toMatchObject({ status: 'failed', result: { code: 'assignment_timeout' } });
      expect(await changes().nextPush(customerId)).toBeUndefined();
    } finally {
      telephonyOf(tenant()).stalled = false;
    }
  });
});

describe('an operation Location outside the Graph root', () => {
  it('is never followed with the token: the change fails with untrusted_location', async () => {
    process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
    const u = stack.m365.portal.addUser(c.tenantId, { userPrincipalName: `loc.${Date.now()}@contoso.com` });
    const q = await changes().enqueue(
      customerId,
      { changes: [{ userId: u.id, phoneNumber: '+14255550155' }] },
      'op',
    );
    const stored = await changes().repos.changes.get(customerId.toLowerCase(), q.ids[0]!);
    // As a 202 whose Location points elsewhere leaves it.
    await changes().repos.changes.update(
      {
        ...stored!.value,
        status: 'polling',
        attempts: 1,
        notBefore: now().toISOString(),
        postedAt: now().toISOString(),
        operationUrl: 'https://graph.example.net/v1.0/admin/teams/telephoneNumberManagement/operations/x',
      },
      stored!.etag,
    );
    const seen = graphCalls.length;
    await changes().replicate(customerId, 'op');
    await push();
    expect((await rows()).find((r) => r.id === q.ids[0])).toMatchObject({
      status: 'failed',
      result: { code: 'untrusted_location' },
    });
    expect(graphCalls.slice(seen).some((l) => l.includes('graph.example.net'))).toBe(false);
  });
});

describe('the audit of a pushed change', () => {
  it('is written before the change is saved final: a crash between the two leaves the change to push again, and it is audited once', async () => {
    process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
    const customer = (await services.customers.find(customerId))!;
    const token = (await services.tokens.redeem(customer)).accessToken;
    const q = await changes().enqueue(
      customerId,
      { changes: [{ userId: c.user, department: 'Audited' }] },
      'op:audit',
    );
    const writer = createGraphWriter({
      graphBaseUrl: loadConfig(settings).graph.baseUrl,
      fetch: recording([]),
    });
    const told: string[] = [];
    const crashing = createPush({
      repos: changes().repos,
      writer,
      now,
      finished: async () => {
        throw new Error('the worker dies before the final save');
      },
    });
    await expect(crashing.run(customerId, token, true)).rejects.toThrow('dies');
    expect((await rows()).find((r) => r.id === q.ids[0])).toMatchObject({ status: 'pushing' });
    const repeat = createPush({
      repos: changes().repos,
      writer,
      now,
      finished: async (done) => {
        told.push(...done.map((r) => `${r.id}|${r.status}`));
      },
    });
    await repeat.run(customerId, token, true);
    expect(told).toEqual([`${q.ids[0]}|succeeded`]);
    expect((await rows()).find((r) => r.id === q.ids[0])).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('is keyed by change and status: recorded again it is kept once', async () => {
    const q = await changes().enqueue(
      customerId,
      { changes: [{ userId: c.user, department: 'Once' }] },
      'op:once',
    );
    await changes().replicate(customerId, 'op:once');
    await push();
    const key = `replication.changes.pushed|${customerId.toLowerCase()}|${q.ids[0]}|succeeded`;
    expect(
      await services.audit.record({
        key,
        actor: 'op:once',
        action: 'replication.changes.pushed',
        customerId,
      }),
    ).toBeUndefined();
    const audit = await services.audit.list({ customerId });
    expect(
      audit.items.filter((a) => a.actor === 'op:once' && a.action === 'replication.changes.pushed'),
    ).toHaveLength(1);
  });
});

describe('write permissions', () => {
  it('a customer whose grant predates the write scopes is re-invited; their changes wait for consent, then go', async () => {
    process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
    stack.m365.revokeDelegatedPermissions(c.tenantId, [
      'User.ReadWrite.All',
      'TeamsTelephoneNumber.ReadWrite.All',
    ]);
    clock += 2 * 3600_000; // past the cached access token
    const checked = await services.tokenChecks.check(customerId, {
      actor: 'token-health',
      log: silentLog,
      force: true,
    });
    expect(checked).toMatchObject({
      outcome: 'verified',
      health: { status: 'needs_consent', reason: 'scope_drift' },
    });
    if (checked.outcome === 'verified') expect(checked.actions).toContain('reinvite');
    const q = await changes().enqueue(
      customerId,
      { changes: [{ userId: c.user, department: 'After consent' }] },
      'operator',
    );
    await changes().replicate(customerId, 'operator');
    await push();
    expect((await rows()).find((r) => r.id === q.ids[0])).toMatchObject({ status: 'waiting_consent' });
    expect(user(c.user).department).not.toBe('After consent');
    await consent(services, customerId);
    await changes().replicate(customerId, 'operator');
    await push();
    expect((await rows()).find((r) => r.id === q.ids[0])).toMatchObject({ status: 'succeeded' });
    expect(user(c.user).department).toBe('After consent');
  }, 60_000);
});
