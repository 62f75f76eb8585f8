import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../../shared/orders/repositories';
import { waitFor } from '../../helpers/wait';
import { customerCreated, post, sign, startOrdersWorld, unique, type OrdersWorld } from './helpers';

/** What orders keep for other capabilities: the ordered subscriptions, and the SBC cleanup a cancellation leaves. */
let world: OrdersWorld;

beforeAll(async () => {
  world = await startOrdersWorld();
});

afterAll(async () => {
  await world?.stop();
});

const apply = async (event: { id: string }) => {
  const body = JSON.stringify(event);
  expect(
    (await post(world.host.url, body, { 'x-switchboard-signature': sign(body, [world.t.secret]) })).status,
  ).toBe(202);
  return waitFor(async () => {
    const row = (await world.services.orders.repos.events.get(partitionOf(event.id), event.id))?.value;
    return row && ['succeeded', 'failed'].includes(row.status) ? row : undefined;
  }, 20_000);
};
const later = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('orders: records for other capabilities', () => {
  it('stores the subscriptions an order lists, and replaces them with the next list', async () => {
    const customerId = unique('subs');
    expect((await apply(customerCreated(customerId))).status).toBe('succeeded');
    const bySku = async () =>
      Object.fromEntries(
        (await world.services.orders.subscriptions.list(customerId)).map((s) => [s.sku, s.quantity]),
      );
    expect(await bySku()).toEqual({ MCOEV: 25, MCOPSTNC: 25 });

    const updated = {
      id: unique('evt'),
      type: 'customer.updated',
      occurredAt: later(1),
      data: {
        customerId,
        subscriptions: [
          { sku: 'MCOEV', quantity: 30 },
          { sku: 'Microsoft_Teams_Rooms_Pro', quantity: 2 },
        ],
      },
    };
    expect((await apply(updated)).status).toBe('succeeded');
    expect(await bySku()).toEqual({ MCOEV: 30, Microsoft_Teams_Rooms_Pro: 2 });
  });

  it('leaves a pending SBC cleanup when a customer is cancelled, for the dial-plan capability to take', async () => {
    const customerId = unique('gone');
    await apply(customerCreated(customerId));
    const cancel = {
      id: unique('evt'),
      type: 'customer.cancelled',
      occurredAt: later(1),
      data: { customerId, reason: null },
    };
    expect((await apply(cancel)).status).toBe('succeeded');
    const pending = await world.services.orders.cleanups.list('sbc', { pageSize: 1000 });
    expect(pending.items.map((p) => p.value)).toContainEqual(
      expect.objectContaining({ customerKey: customerId.toLowerCase(), orderEventId: cancel.id }),
    );
    await world.services.orders.cleanups.complete('sbc', customerId);
    const after = await world.services.orders.cleanups.list('sbc', { pageSize: 1000 });
    expect(after.items.map((p) => p.value.customerKey)).not.toContain(customerId.toLowerCase());
  });
});
