import { describe, expect, it } from 'vitest';
import { triggers } from '../../../functions';
import { loadConfig } from '../../../shared/config';
import { DependencyError } from '../../../shared/errors';
import { silentLog } from '../../../shared/log';
import { createServices } from '../../../shared/services';
import type { QueueSender } from '../../../shared/storage/queue-sender';
import { testSettings } from '../../helpers/stack';

/**
 * No timer scans a whole table: the sweep finds due work through the due index, reading one hour's
 * partition at a time, however many rows the work tables hold; the SBC cleanup taker reads one
 * area's partition of pending cleanups and one partition per customer.
 */
const settings = testSettings({ ORDERS_WEBHOOK_SECRET_NAMES: 'sweep-test-unused' });
const brokenQueue: QueueSender = {
  send: async () => {
    throw new DependencyError('storage', 'queue: unreachable');
  },
};

describe('the sweep', () => {
  it('is one of two timers, so the checks below cover every timer', () => {
    expect(triggers.filter((t) => t.kind === 'timer').map((t) => t.name)).toEqual([
      'sweepDueWork',
      'consumeSbcCleanups',
    ]);
  });

  it('reads only point rows and single partitions, and finds what its messages lost', async () => {
    const requests: { method: string; url: string }[] = [];
    const offline = createServices(loadConfig(settings), { queues: brokenQueue });
    // Many callbacks whose messages never went out (the queue was down): the work tables fill up.
    const config = {
      ...offline.config,
      orders: { ...offline.config.orders, callbackUrl: 'https://127.0.0.1:9/cb' },
    };
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

    const reads = requests.filter((r) => r.method === 'GET');
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) {
      const url = new URL(r.url);
      const pointRead = /\(PartitionKey='[^']*',RowKey='[^']*'\)$/.test(decodeURIComponent(url.pathname));
      const filter = url.searchParams.get('$filter') ?? '';
      expect(pointRead || /^PartitionKey eq '[^']*'( and |$)/.test(filter), `${r.method} ${r.url}`).toBe(
        true,
      );
    }
    // A second run finds nothing new: the entries it acted on were replaced by later ones.
    expect((await later.jobs.due.sweep(silentLog)).requeued['outbox.callback'] ?? 0).toBe(0);
  });
});

describe('the SBC cleanup taker', () => {
  it('reads only point rows and single partitions', async () => {
    const requests: { method: string; url: string }[] = [];
    const services = createServices(loadConfig(settings), { observeTables: (r) => requests.push(r) });
    for (let i = 0; i < 5; i++) await services.orders.cleanups.request('sbc', `gone-${i}`, `evt-${i}`);
    expect(await services.dialplan.consumeCleanups(silentLog)).toEqual({ customers: 5, sites: 0 });
    const reads = requests.filter((r) => r.method === 'GET');
    expect(reads.length).toBeGreaterThan(5);
    for (const r of reads) {
      const url = new URL(r.url);
      const pointRead = /\(PartitionKey='[^']*',RowKey='[^']*'\)$/.test(decodeURIComponent(url.pathname));
      const filter = url.searchParams.get('$filter') ?? '';
      expect(pointRead || /^PartitionKey eq '[^']*'( and |$)/.test(filter), `${r.method} ${r.url}`).toBe(
        true,
      );
    }
    expect((await services.orders.cleanups.list('sbc')).items).toEqual([]);
  });
});
