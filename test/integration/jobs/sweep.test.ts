import { describe, expect, it } from 'vitest';
import { triggers } from '../../../functions';
import { loadConfig } from '../../../shared/config';
import { DependencyError } from '../../../shared/errors';
import { createLoginStateStore } from '../../../shared/identity/login-state';
import { silentLog } from '../../../shared/log';
import { createServices } from '../../../shared/services';
import type { QueueSender } from '../../../shared/storage/queue-sender';
import { testSettings } from '../../helpers/stack';

/**
 * No timer scans a whole table: each reads point rows and single-partition ranges only, however many
 * rows the tables hold. What goes over the wire to Table Storage is recorded and checked.
 */
const settings = testSettings({ ORDERS_WEBHOOK_SECRET_NAMES: 'sweep-test-unused' });
const base = loadConfig(settings);
const config = { ...base, orders: { ...base.orders, callbackUrl: 'https://127.0.0.1:9/cb' } };
const brokenQueue: QueueSender = {
  send: async () => {
    throw new DependencyError('storage', 'queue: unreachable');
  },
};
/** A queue that takes every message and keeps none: the fan-outs' sends cost no storage request here. */
const discardingQueue: QueueSender = { send: async () => undefined };

function expectPartitionScoped(requests: { method: string; url: string }[]): void {
  const reads = requests.filter((r) => r.method === 'GET');
  expect(reads.length).toBeGreaterThan(0);
  for (const r of reads) {
    const url = new URL(r.url);
    const pointRead = /\(PartitionKey='[^']*',RowKey='[^']*'\)$/.test(decodeURIComponent(url.pathname));
    const filter = url.searchParams.get('$filter') ?? '';
    expect(pointRead || /^PartitionKey eq '[^']*'( and |$)/.test(filter), `${r.method} ${r.url}`).toBe(true);
  }
}

describe('timers', () => {
  it('are the token verification, the sweep, the replication fan-out and the SBC cleanup taker: the checks below cover each', () => {
    expect(triggers.filter((t) => t.kind === 'timer').map((t) => t.name)).toEqual([
      'verifyTokens',
      'sweepDueWork',
      'replicationFanOut',
      'consumeSbcCleanups',
    ]);
  });

  it('the SBC cleanup taker reads one partition of pending cleanups and one per customer', async () => {
    const requests: { method: string; url: string }[] = [];
    const services = createServices(config, { observeTables: (r) => requests.push(r) });
    for (let i = 0; i < 5; i++) await services.orders.cleanups.request('sbc', `gone-${i}`, `evt-${i}`);
    expect(await services.dialplan.consumeCleanups(silentLog)).toEqual({ customers: 5, sites: 0 });
    expectPartitionScoped(requests);
    expect((await services.orders.cleanups.list('sbc')).items).toEqual([]);
  });

  it('the sweep reads only point rows and single partitions, and finds what its messages lost', async () => {
    const requests: { method: string; url: string }[] = [];
    // Many callbacks whose messages never went out (the queue was down): the work tables fill up.
    const noisy = createServices(config, { queues: brokenQueue });
    const ids = await Promise.all(
      Array.from({ length: 30 }, (_, i) => noisy.outbox.notify('customer.invited', { n: i })),
    );
    const later = createServices(config, {
      now: () => new Date(Date.now() + 10 * 60_000),
      observeTables: (r) => requests.push(r),
    });
    const result = await later.jobs.due.sweep(silentLog);
    expect(result.requeued['outbox.callback']).toBe(30);
    expect(ids.every((i) => i !== undefined)).toBe(true);
    expectPartitionScoped(requests);
    // A second run finds nothing new: the entries it acted on were replaced by later ones.
    expect((await later.jobs.due.sweep(silentLog)).requeued['outbox.callback'] ?? 0).toBe(0);
  });

  it("the token verification's fan-out pages through customers in their one partition", async () => {
    const services = createServices(config);
    for (let i = 0; i < 12; i++) {
      await services.customers.create(
        { id: `scan-${i}`, name: `C ${i}`, adminEmail: `a${i}@scan.example` },
        'test',
      );
    }
    const requests: { method: string; url: string }[] = [];
    const observed = createServices(config, {
      queues: discardingQueue,
      observeTables: (r) => requests.push(r),
    });
    const result = await observed.tokenChecks.fanOut(silentLog);
    // None of them consented: each is skipped, and says why.
    expect(result).toMatchObject({ sent: 0, skipped: 12, skippedBy: { not_consented: 12 } });
    expectPartitionScoped(requests);

    // The replication fan-out walks the same partition the same way.
    requests.length = 0;
    const replication = await observed.replication.fanOutAll(silentLog, new Date());
    expect(replication).toMatchObject({ sent: 0, skipped: 12 });
    expectPartitionScoped(requests);
  });
});

describe('retention', () => {
  it('deletes an abandoned sign-in state an hour after it expired, through the due index', async () => {
    const services = createServices(config);
    const store = createLoginStateStore(services.storage, services.jobs.due);
    const started = await store.create({ customerId: 'retained', invitationToken: 'x'.repeat(43) });
    const laterServices = createServices(config, { now: () => new Date(Date.now() + 2 * 3_600_000) });
    createLoginStateStore(laterServices.storage, laterServices.jobs.due, laterServices.now);
    await laterServices.jobs.due.sweep(silentLog);
    // Gone: even its own browser finds nothing to consume.
    expect(await store.consume(started.state, started.browserKey)).toEqual({ status: 'unknown' });
  });

  it('keeps a sign-in state that has not expired', async () => {
    const services = createServices(config);
    const store = createLoginStateStore(services.storage, services.jobs.due);
    const started = await store.create({ customerId: 'kept', invitationToken: 'y'.repeat(43) });
    await createServices(config, { now: () => new Date(Date.now() + 60_000) }).jobs.due.sweep(silentLog);
    expect((await store.consume(started.state, started.browserKey)).status).toBe('valid');
  });
});
