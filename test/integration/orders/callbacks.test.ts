import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config';
import { DependencyError } from '../../../shared/errors';
import { silentLog } from '../../../shared/log';
import { verifySignature } from '../../../shared/orders/signature';
import { createServices, type Services } from '../../../shared/services';
import { waitFor } from '../../helpers/wait';
import {
  unique,
  type CallbackReceiver,
  type OrdersTestSettings,
  startOrdersWorld,
  type OrdersWorld,
} from './helpers';

/** Status callbacks to the ordering system: signed, retried with back-off, given up on and recorded. */
let t: OrdersTestSettings;
let services: Services;
let receiver: CallbackReceiver;

let world: OrdersWorld;

beforeAll(async () => {
  world = await startOrdersWorld(
    { ORDERS_RETRY_BASE_SECONDS: '1', ORDERS_CALLBACK_MAX_ATTEMPTS: '3' },
    { callbacks: true },
  );
  ({ t, services } = world);
  receiver = world.receiver!;
});

afterAll(async () => {
  await world?.stop();
});

const callback = (id: string) => services.outbox.get(id);
const deliveriesOf = (id: string) => receiver.received.filter((r) => r.body.id === id);
const verifiesWith = (raw: string, signature: string, secret: string) =>
  verifySignature(signature, Buffer.from(raw), [secret], {
    nowSeconds: Math.floor(Date.now() / 1000),
    toleranceSeconds: 300,
  }).ok;

describe('status callbacks', () => {
  it('signs each delivery with the current and the previous secret, and retries until it is taken', async () => {
    receiver.failNext(2);
    const customerId = unique('cons');
    const queued = await services.outbox.notify(
      'customer.consented',
      { customerId, tenantId: '3f1a6b0e-8c55-4a8e-9d43-2a9c3e6f7b10' },
      { key: `${customerId}:consented`, customerId },
    );
    expect(queued?.id).toMatch(/^cb_[0-9a-f]{32}$/);
    const delivered = await waitFor(async () => {
      const c = await callback(queued!.id);
      return c?.status === 'delivered' ? c : undefined;
    }, 20_000);
    expect(delivered).toMatchObject({ attempts: 3, lastStatusCode: 204 });
    const copies = deliveriesOf(queued!.id);
    expect(copies.map((c) => c.attempt)).toEqual(['1', '2', '3']);
    for (const c of copies) {
      expect(c.body).toMatchObject({ type: 'customer.consented', specVersion: '1', data: { customerId } });
      expect(verifiesWith(c.raw, c.signature, t.secret)).toBe(true);
      expect(verifiesWith(c.raw, c.signature, t.previousSecret)).toBe(true);
    }
    // The same key again is the same callback: nothing new is sent.
    const again = await services.outbox.notify(
      'customer.consented',
      {},
      {
        key: `${customerId}:consented`,
      },
    );
    expect(again?.id).toBe(queued!.id);
    await new Promise((r) => setTimeout(r, 1000));
    expect(deliveriesOf(queued!.id)).toHaveLength(3);
  });

  it('gives up after the configured attempts and records it', async () => {
    receiver.failNext(1000, 500);
    const customerId = unique('gone');
    const queued = await services.outbox.notify(
      'customer.invited',
      { customerId },
      {
        customerId,
      },
    );
    const failed = await waitFor(async () => {
      const c = await callback(queued!.id);
      return c?.status === 'failed' ? c : undefined;
    }, 20_000);
    receiver.failNext(0);
    expect(failed).toMatchObject({ attempts: 3, lastStatusCode: 500, lastError: 'HTTP 500' });
    expect(failed.dueAt).toBeUndefined();
    expect(deliveriesOf(queued!.id)).toHaveLength(3);
    const audit = await services.audit.list({ customerId });
    expect(audit.items).toEqual([
      expect.objectContaining({ action: 'order.callback_failed', target: queued!.id, actor: 'orders' }),
    ]);
  });

  it('delivers a callback whose queue message was never sent, once the sweep finds it', async () => {
    const offline = createServices(services.config, {
      queues: {
        send: async () => {
          throw new DependencyError('storage', 'down');
        },
      },
    });
    const queued = await offline.outbox.notify('customer.invited', { customerId: 'x' });
    expect((await callback(queued!.id))?.status).toBe('pending');
    const later = createServices(services.config, { now: () => new Date(Date.now() + 5 * 60_000) });
    expect((await later.jobs.due.sweep(silentLog)).requeued['outbox.callback']).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await callback(queued!.id))?.status === 'delivered', 15_000);
    expect(deliveriesOf(queued!.id)).toHaveLength(1);
  });

  it('sends nothing when no callback URL is configured', async () => {
    const { ORDERS_CALLBACK_URL: _omit, ...settings } = t.settings;
    const quiet = createServices(loadConfig(settings));
    expect(quiet.outbox.enabled).toBe(false);
    expect(await quiet.outbox.notify('customer.invited', {})).toBeUndefined();
  });
});
