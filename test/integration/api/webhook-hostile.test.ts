import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../../shared/orders/repositories';
import { customerCreated, post, sign, unique, startOrdersWorld, type OrdersWorld } from '../orders/helpers';

/**
 * Correctly signed events the ordering system should never have sent: each is a 4xx (it would retry
 * a 5xx forever), and nothing is stored.
 */
let world: OrdersWorld;

beforeAll(async () => {
  world = await startOrdersWorld();
});
afterAll(async () => {
  await world?.stop();
});

const signed = (body: string | Buffer, contentType: string | null = 'application/json') =>
  fetch(`${world.host.url}/api/orders/events`, {
    method: 'POST',
    headers: {
      ...(contentType ? { 'content-type': contentType } : {}),
      'x-switchboard-signature': sign(body.toString(), [world.t.secret]),
    },
    body: Buffer.from(body),
  });

describe('the webhook under hostile but signed bodies', () => {
  it('answers 400 to an unknown field nested 5,000 levels deep, and stores nothing', async () => {
    const event = customerCreated(unique('deep'));
    const body = JSON.stringify(event).replace(/}$/, `,"extra":${'{"x":'.repeat(5000)}1${'}'.repeat(5000)}}`);
    const res = await signed(body);
    expect(res.status).toBe(400);
    expect(await world.services.orders.repos.events.get(partitionOf(event.id), event.id)).toBeUndefined();
  });

  it('answers 415 to a signed event that is not sent as JSON', async () => {
    const event = customerCreated(unique('type'));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', null]) {
      expect((await signed(JSON.stringify(event), type)).status).toBe(415);
    }
    expect(await world.services.orders.repos.events.get(partitionOf(event.id), event.id)).toBeUndefined();
  });

  it('answers 400 to a lone surrogate in a signed event', async () => {
    const event = customerCreated(unique('sur'));
    const body = JSON.stringify(event).replace('Contoso', 'Contoso \\ud800');
    const res = await post(world.host.url, body, { 'x-switchboard-signature': sign(body, [world.t.secret]) });
    expect(res.status).toBe(400);
  });
});
