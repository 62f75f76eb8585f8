import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { createJobs } from '../../../shared/jobs';
import { silentLog } from '../../../shared/log';
import type { Services } from '../../../shared/services';
import { testServices } from '../../helpers/stack';

/** The platform's leases and per-key mailboxes, against Azurite. */
const services: Services = testServices();
const at = (offsetSeconds: number) => () => new Date(Date.now() + offsetSeconds * 1000);
/** The same storage, seen by a worker whose clock runs `offsetSeconds` ahead. */
const jobsAt = (offsetSeconds: number) =>
  createJobs({
    storage: services.storage,
    queues: services.queues,
    audit: services.audit,
    now: at(offsetSeconds),
    pausedRetrySeconds: 30,
  });

describe('leases', () => {
  it('lets one holder in at a time, and another take over once a killed holder lets it expire', async () => {
    const { leases } = services.jobs;
    expect(await leases.acquire('test.scope', 'sbc-1', 'msg:dead', 60)).toMatchObject({ owner: 'msg:dead' });
    // The holder is "killed": it never releases. Others are refused while the lease runs …
    expect(await leases.acquire('test.scope', 'sbc-1', 'msg:other', 60)).toBeUndefined();
    // … and take it once it has expired.
    const later = jobsAt(61).leases;
    expect(await later.acquire('test.scope', 'sbc-1', 'msg:other', 60)).toMatchObject({ owner: 'msg:other' });
    // The dead holder coming back cannot release or renew what is no longer its own.
    await leases.release('test.scope', 'sbc-1', 'msg:dead');
    expect(await leases.renew('test.scope', 'sbc-1', 'msg:dead', 60)).toBe(false);
    expect((await later.held('test.scope')).map((l) => l.owner)).toEqual(['msg:other']);
  });

  it('gives a redelivered message its own lease back at once', async () => {
    const { leases } = services.jobs;
    await leases.acquire('test.scope', 'sbc-2', 'msg:m1', 300);
    // The worker failed without releasing (storage blinked); the host delivers the same message again.
    expect(await leases.acquire('test.scope', 'sbc-2', 'msg:m1', 300)).toMatchObject({ owner: 'msg:m1' });
    expect(await leases.acquire('test.scope', 'sbc-2', 'msg:m2', 300)).toBeUndefined();
  });

  it('hands a contested lease to exactly one of many workers', async () => {
    const owners = Array.from({ length: 12 }, (_, i) => `msg:c${i}`);
    const got = await Promise.all(
      owners.map((o) => services.jobs.leases.acquire('test.scope', 'sbc-3', o, 60)),
    );
    expect(got.filter((l) => l !== undefined)).toHaveLength(1);
  });
});

describe('mailboxes', () => {
  const payload = z.object({ prefix: z.string() });

  it('drains everything pending for a key in one go: N posts, one drain', async () => {
    const box = services.jobs.mailbox({ name: 'test-sbc', queue: 'test-sbc-changes', payload });
    const posted = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        box.post('sbc-a', { id: `c${String(i).padStart(3, '0')}`, payload: { prefix: `+3120${i}` } }),
      ),
    );
    expect(posted).toHaveLength(60);
    expect(await box.pending('sbc-a')).toBe(60);
    const batches: string[][] = [];
    const result = await box.drain(
      'sbc-a',
      'msg:1',
      async (_key, items) => {
        batches.push(items.map((i) => i.payload.prefix));
      },
      silentLog,
    );
    expect(result).toEqual({ outcome: 'drained', drains: 1, items: 60 });
    expect(batches).toHaveLength(1);
    expect(new Set(batches[0])).toHaveProperty('size', 60);
    expect(await box.pending('sbc-a')).toBe(0);
    // The other 59 wake-up messages find nothing left to do.
    expect((await box.drain('sbc-a', 'msg:2', async () => undefined, silentLog)).outcome).toBe('empty');
  });

  it('is idempotent by item id: posting again does not make a second item', async () => {
    const box = services.jobs.mailbox({ name: 'test-sbc', queue: 'test-sbc-changes', payload });
    await box.post('sbc-b', { id: 'change-1', payload: { prefix: '+4930' } });
    await box.post('sbc-b', { id: 'change-1', payload: { prefix: '+4930' } });
    expect(await box.pending('sbc-b')).toBe(1);
  });

  it('never gives one item to two drains, and loses none, when workers and posts race', async () => {
    const box = services.jobs.mailbox({ name: 'test-race', queue: 'test-race-changes', payload });
    const seen: string[] = [];
    let drainsInside = 0;
    let overlapped = false;
    const handler = async (_key: string, items: { id: string }[]) => {
      drainsInside++;
      if (drainsInside > 1) overlapped = true;
      await new Promise((r) => setTimeout(r, 20));
      seen.push(...items.map((i) => i.id));
      drainsInside--;
    };
    const posts = Array.from({ length: 40 }, (_, i) =>
      box.post('sbc-c', { id: `p${String(i).padStart(3, '0')}`, payload: { prefix: `${i}` } }),
    );
    const drains = Array.from({ length: 6 }, (_, i) =>
      new Promise((r) => setTimeout(r, i * 15)).then(() =>
        box.drain('sbc-c', `msg:d${i}`, handler, silentLog),
      ),
    );
    await Promise.all([...posts, ...drains]);
    // Whatever was posted after the last drain looked is drained by the next message.
    await box.drain('sbc-c', 'msg:last', handler, silentLog);
    expect(overlapped).toBe(false);
    expect(seen.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `p${String(i).padStart(3, '0')}`));
  });

  it('wakes a stranded mailbox from the sweep when its messages were lost', async () => {
    const box = services.jobs.mailbox({ name: 'test-lost', queue: 'test-lost-changes', payload });
    await box.post('sbc-d', { id: 'x1', payload: { prefix: '1' } });
    const later = jobsAt(11 * 60);
    later.mailbox({ name: 'test-lost', queue: 'test-lost-changes', payload });
    const swept = await later.due.sweep(silentLog);
    expect(swept.requeued['mailbox:test-lost']).toBe(1);
    const waiting = await services.storage.queue('test-lost-changes').peekMessages({ numberOfMessages: 32 });
    // The post's own wake-up and the sweep's.
    expect(waiting.peekedMessageItems.length).toBeGreaterThanOrEqual(2);
  });
});
