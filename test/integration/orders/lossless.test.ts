import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config';
import { DependencyError } from '../../../shared/errors';
import { createOrderIntake } from '../../../shared/orders/intake';
import { createJobs } from '../../../shared/jobs';
import { silentLog } from '../../../shared/log';
import { partitionOf } from '../../../shared/orders/repositories';
import { createOrdersService } from '../../../shared/orders/service';
import { createServices, type Services } from '../../../shared/services';
import type { QueueSender } from '../../../shared/storage/queue-sender';
import { waitFor } from '../../helpers/wait';
import {
  customerCreated,
  outboxFor,
  sign,
  unique,
  type OrdersTestSettings,
  startOrdersWorld,
  type OrdersWorld,
} from './helpers';

/**
 * Nothing is lost and nothing is done twice when the queue is down, a message disappears, or a
 * worker dies half-way: the states those failures leave behind are made here on purpose, and the
 * app (the local host's queue worker, the sweep) has to finish the job exactly once.
 */
let t: OrdersTestSettings;
let services: Services;

let world: OrdersWorld;

beforeAll(async () => {
  world = await startOrdersWorld(
    { ORDERS_RETRY_BASE_SECONDS: '1', ORDERS_LEASE_SECONDS: '10' },
    { previousSecret: false },
  );
  ({ t, services } = world);
});

afterAll(async () => {
  await world?.stop();
});

const inMinutes = (n: number) => () => new Date(Date.now() + n * 60_000);
const row = async (id: string) => (await services.orders.repos.events.get(partitionOf(id), id))?.value;
const settled = (id: string) =>
  waitFor(async () => {
    const r = await row(id);
    return r && ['succeeded', 'failed'].includes(r.status) ? r : undefined;
  }, 20_000);
const brokenQueue: QueueSender = {
  send: async () => {
    throw new DependencyError('storage', 'queue orders: unreachable');
  },
};

/** The webhook's intake with the queue down: the event is stored, its message never sent. */
const storeWhileQueueIsDown = (event: { id: string }) => {
  const body = JSON.stringify(event);
  const intake = createOrderIntake({
    repos: services.orders.repos,
    queues: brokenQueue,
    secrets: services.orders.secrets,
    audit: services.audit,
    toleranceSeconds: 300,
    now: () => new Date(),
  });
  return intake.receive({ signature: sign(body, [t.secret]), body: Buffer.from(body) }, silentLog);
};

describe('orders: lossless', () => {
  it('accepts an event while the queue is down, and the sweep gets it applied', async () => {
    const intake = createOrderIntake({
      repos: services.orders.repos,
      queues: brokenQueue,
      secrets: services.orders.secrets,
      audit: services.audit,
      toleranceSeconds: 300,
      now: () => new Date(),
    });
    const event = customerCreated(unique('qdown'));
    const body = JSON.stringify(event);
    const answer = await intake.receive(
      { signature: sign(body, [t.secret]), body: Buffer.from(body) },
      silentLog,
    );
    expect(answer.status).toBe(202);
    expect((await row(event.id))?.status).toBe('received');

    // A sweep before the grace period leaves it alone; one after it queues it.
    const sweepNow = createServices(services.config).jobs.due;
    expect((await sweepNow.sweep(silentLog)).requeued['orders.event'] ?? 0).toBe(0);
    const sweepLater = createServices(services.config, { now: inMinutes(2) }).jobs.due;
    expect((await sweepLater.sweep(silentLog)).requeued['orders.event']).toBeGreaterThanOrEqual(1);

    expect((await settled(event.id)).status).toBe('succeeded');
    expect(await services.customers.get(event.data.customerId)).toMatchObject({ consentState: 'invited' });
    expect(outboxFor(event.data.adminEmail)).toHaveLength(1);
  });

  it('finishes the work of a worker killed half-way, without doing any step twice', async () => {
    // Stored but not queued, so that only the worker below (not the host's) takes it first.
    const event = customerCreated(unique('killed'));
    expect((await storeWhileQueueIsDown(event)).status).toBe(202);

    // A worker whose e-mail call never returns: it creates the customer, then its process is "killed".
    const dying = createOrdersService({
      config: services.config.orders,
      storage: services.storage,
      queues: brokenQueue,
      audit: services.audit,
      jobs: createJobs({
        storage: services.storage,
        queues: brokenQueue,
        audit: services.audit,
        now: services.now,
        pausedRetrySeconds: 30,
      }),
      outbox: services.outbox,
      webhookSecrets: services.orders.secrets,
      customers: services.customers,
      access: services.tokenChecks,
      invitations: { ...services.invitations, send: () => new Promise(() => undefined) },
      onboarding: services.onboarding,
      now: services.now,
    });
    void dying.processor.process(event.id, silentLog);
    const halfDone = await waitFor(async () => {
      const r = await row(event.id);
      return r?.steps.customer && r.status === 'processing' ? r : undefined;
    });
    expect(halfDone.steps.invitation).toBeUndefined();
    const leases = await services.jobs.leases.held('orders.customer');
    expect(leases.map((l) => l.key)).toContain(event.data.customerId.toLowerCase());

    // The sweep finds it past due and queues it; the host's worker waits out the dead worker's lease, then finishes.
    const sweep = createServices(services.config, { now: inMinutes(2) }).jobs.due;
    expect((await sweep.sweep(silentLog)).requeued['orders.event']).toBeGreaterThanOrEqual(1);
    const done = await waitFor(async () => {
      const r = await row(event.id);
      return r?.status === 'succeeded' ? r : undefined;
    }, 45_000);
    expect(Object.keys(done.steps)).toEqual(expect.arrayContaining(['customer', 'invitation']));
    expect(done.steps.customer!.at).toBe(halfDone.steps.customer!.at);
    expect(done.attempts).toBe(2);
    expect(await services.invitations.list({ customerId: event.data.customerId })).toHaveLength(1);
    expect(outboxFor(event.data.adminEmail)).toHaveLength(1);
    const created = (await services.audit.list({ customerId: event.data.customerId })).items.filter(
      (a) => a.action === 'customer.created',
    );
    expect(created).toHaveLength(1);
  }, 60_000);

  it('answers 503 and stores nothing while no signing secret exists', async () => {
    const none = createServices(
      loadConfig({
        ...t.settings,
        ORDERS_WEBHOOK_SECRET_NAMES: `absent-${unique('s')},absent-${unique('s')}`,
      }),
    );
    const event = customerCreated(unique('nosecret'));
    const body = JSON.stringify(event);
    await expect(
      none.orders.intake.receive({ signature: sign(body, [t.secret]), body: Buffer.from(body) }, silentLog),
    ).rejects.toMatchObject({ status: 503, code: 'webhook_not_configured' });
    expect(await row(event.id)).toBeUndefined();
  });

  it('retries an event whose dependency is down, and gives up after the wait limit with a clear error', async () => {
    const customerId = unique('never');
    const event = {
      id: unique('evt'),
      type: 'invitation.resend',
      occurredAt: new Date().toISOString(),
      data: { customerId },
    };
    const body = JSON.stringify(event);
    await services.orders.intake.receive(
      { signature: sign(body, [t.secret]), body: Buffer.from(body) },
      silentLog,
    );
    const waiting = await waitFor(async () => {
      const r = await row(event.id);
      return r?.status === 'waiting' ? r : undefined;
    });
    expect(waiting.errors?.[0]?.code).toBe('customer_not_found');
    // A day later (the default limit), it is reported, not dropped.
    const later = createServices(services.config, { now: inMinutes(24 * 60 + 1) }).orders;
    expect(await later.processor.process(event.id, silentLog)).toBe('failed');
    const failed = await row(event.id);
    expect(failed?.status).toBe('failed');
    expect(failed?.errors?.[0]?.message).toMatch(/does not exist yet.*Gave up after 24 hours/);
    const audit = await services.audit.list({ customerId: customerId.toLowerCase() });
    expect(audit.items.map((a) => a.action)).toContain('order.failed');
  });
});

describe('orders: a redelivered message', () => {
  it('takes back the customer lease its failed run could not release, at once', async () => {
    const event = customerCreated(unique('redeliver'));
    expect((await storeWhileQueueIsDown(event)).status).toBe(202);
    // Message m1's run took the lease and died before giving it back (storage blinked).
    const key = event.data.customerId.toLowerCase();
    await services.jobs.leases.acquire('orders.customer', key, 'msg:m1', 300);
    // Another message of the customer waits; the same message, delivered again, goes on at once.
    expect(await services.orders.processor.process(event.id, silentLog, 'msg:m2')).toBe('busy');
    expect(await services.orders.processor.process(event.id, silentLog, 'msg:m1')).toBe('succeeded');
    expect(await services.jobs.leases.held('orders.customer')).not.toContainEqual(
      expect.objectContaining({ key }),
    );
  });
});
