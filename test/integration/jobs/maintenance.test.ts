import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../../shared/orders/repositories';
import { TEST_FUNCTION_KEY } from '../../helpers/host';
import { sleep, waitFor } from '../../helpers/wait';
import {
  customerCreated,
  outboxFor,
  post,
  sign,
  startOrdersWorld,
  unique,
  type OrdersWorld,
} from '../orders/helpers';

/**
 * The pause switch, end to end through the local host: while paused, orders are accepted and stored
 * but nothing is applied; after the resume every one is applied exactly once.
 */
let world: OrdersWorld;

beforeAll(async () => {
  world = await startOrdersWorld({ JOBS_PAUSED_RETRY_SECONDS: '1' });
});

afterAll(async () => {
  await world?.stop();
});

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${world.host.url}${path}`, {
    method,
    headers: {
      'x-functions-key': TEST_FUNCTION_KEY,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const eventRow = async (id: string) =>
  (await world.services.orders.repos.events.get(partitionOf(id), id))?.value;

describe('maintenance: pause and resume', () => {
  it('holds accepted work while paused and applies each piece exactly once after the resume', async () => {
    const paused = await call('POST', '/api/maintenance/pause', { reason: 'upgrade to 1.4' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, reason: 'upgrade to 1.4', by: 'operator' });
    expect((await call('GET', '/api/health')).body).toMatchObject({ paused: true });

    const events = Array.from({ length: 6 }, () => customerCreated(unique('held')));
    for (const event of events) {
      const body = JSON.stringify(event);
      expect(
        (await post(world.host.url, body, { 'x-switchboard-signature': sign(body, [world.t.secret]) }))
          .status,
      ).toBe(202);
    }

    // Several hold cycles pass: the messages keep coming back and are put back, never applied.
    await sleep(4000);
    for (const event of events) {
      expect((await eventRow(event.id))?.status).toBe('queued');
      expect(await world.services.customers.find(event.data.customerId)).toBeUndefined();
    }
    const view = await call('GET', '/api/maintenance');
    const orders = (view.body.queues as { name: string; messages: number; poison: number }[]).find(
      (q) => q.name === 'orders',
    );
    expect(orders?.messages).toBeGreaterThanOrEqual(1);
    expect(orders?.poison).toBe(0);

    expect((await call('POST', '/api/maintenance/resume')).body).toMatchObject({ paused: false });
    for (const event of events) {
      await waitFor(async () => (await eventRow(event.id))?.status === 'succeeded', 30_000);
    }
    // Nothing doubled: one customer, one invitation and one e-mail each; the audit shows the switch.
    await sleep(1500);
    for (const event of events) {
      expect(await world.services.invitations.list({ customerId: event.data.customerId })).toHaveLength(1);
      expect(outboxFor(event.data.adminEmail)).toHaveLength(1);
      expect((await eventRow(event.id))?.attempts).toBe(1);
    }
    const audit = await world.services.audit.list({});
    expect(audit.items.map((a) => a.action)).toEqual(
      expect.arrayContaining(['maintenance.paused', 'maintenance.resumed']),
    );
  }, 90_000);

  it('refuses a pause body that is not what it documents, and changes nothing', async () => {
    const res = await call('POST', '/api/maintenance/pause', { reason: 'x', extra: true });
    expect(res.status).toBe(400);
    expect((await call('GET', '/api/maintenance')).body).toMatchObject({ paused: false });
  });
});
