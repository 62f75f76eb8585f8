import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../../../dev/host';
import { bodyOf, partitionOf } from '../../../shared/orders/repositories';
import type { Services } from '../../../shared/services';
import { TEST_FUNCTION_KEY } from '../../helpers/host';
import { waitFor } from '../../helpers/wait';
import {
  customerCreated,
  outboxFor,
  post,
  sign,
  unique,
  type CallbackReceiver,
  type OrdersTestSettings,
  startOrdersWorld,
  type OrdersWorld,
} from './helpers';

/**
 * The webhook end to end in the local host: HTTP in, the queue worker, the real customer and
 * invitation services, the e-mail simulator's outbox, the vault, and callbacks to a receiver.
 */
let t: OrdersTestSettings;
let host: Host;
let services: Services;
let receiver: CallbackReceiver;

let world: OrdersWorld;

beforeAll(async () => {
  world = await startOrdersWorld({ ORDERS_RETRY_BASE_SECONDS: '1' }, { callbacks: true });
  ({ t, host, services } = world);
  receiver = world.receiver!;
});

afterAll(async () => {
  await world?.stop();
});

const send = (event: unknown, secrets = [t.secret]) => {
  const body = JSON.stringify(event);
  return post(host.url, body, { 'x-switchboard-signature': sign(body, secrets) });
};
const stored = (id: string) => services.orders.repos.events.get(partitionOf(id), id);
const status = async (id: string) => {
  const res = await fetch(`${host.url}/api/orders/events/${id}`, {
    headers: { 'x-functions-key': TEST_FUNCTION_KEY },
  });
  return (await res.json()) as Record<string, unknown> & { status: string };
};
const settled = (id: string, timeoutMs = 20_000) =>
  waitFor(async () => {
    const s = await status(id);
    return ['succeeded', 'failed', 'rejected'].includes(s.status) ? s : undefined;
  }, timeoutMs);

describe('POST /api/orders/events: authentication', () => {
  it('answers 401 to a missing, bad or stale signature or an altered body, and stores nothing', async () => {
    const event = customerCreated(unique('c'));
    const body = JSON.stringify(event);
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, Record<string, string>> = {
      missing: {},
      garbage: { 'x-switchboard-signature': 'nonsense' },
      'wrong secret': { 'x-switchboard-signature': sign(body, ['not-the-secret']) },
      'six minutes old': { 'x-switchboard-signature': sign(body, [t.secret], now - 360) },
      'from the future': { 'x-switchboard-signature': sign(body, [t.secret], now + 360) },
    };
    for (const [name, headers] of Object.entries(cases)) {
      const res = await post(host.url, body, headers);
      expect(res.status, name).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'invalid_signature' });
    }
    const altered = body.replace('Contoso', 'Fabrikam');
    const res = await post(host.url, altered, { 'x-switchboard-signature': sign(body, [t.secret]) });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ reason: 'signature_mismatch' });
    expect(await stored(event.id)).toBeUndefined();
    const peek = await services.storage
      .queue('orders')
      .peekMessages({ numberOfMessages: 32 })
      .catch(() => undefined);
    expect(peek?.peekedMessageItems ?? []).toEqual([]);
  });

  it('accepts the previous secret during a rotation', async () => {
    const event = customerCreated(unique('rot'), {
      data: { ...customerCreated('x').data, sendInvitation: false },
    });
    event.data.customerId = unique('rot');
    expect((await send(event, [t.previousSecret])).status).toBe(202);
  });

  it('answers 413 to a body over 256 KB', async () => {
    const body = JSON.stringify({ ...customerCreated(unique('big')), padding: 'x'.repeat(256 * 1024) });
    expect((await post(host.url, body, { 'x-switchboard-signature': sign(body, [t.secret]) })).status).toBe(
      413,
    );
  });

  it('stores a body of almost 256 KB whole', async () => {
    const event = customerCreated(unique('notes'));
    event.data.name = 'Müller & Söhne AG – Zürich 😀';
    // Mostly ASCII: Azurite 3.35 joins request-body chunks as strings (table serializer.js
    // readRequestIntoText), so a multi-byte character on a chunk boundary of a large entity is
    // stored as U+FFFD. Table Storage itself does not do that; see the orders notes.
    Object.assign(event.data, { sendInvitation: false, notes: 'x'.repeat(255_000) });
    const body = JSON.stringify(event);
    expect(Buffer.byteLength(body)).toBeGreaterThan(255_000);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(256 * 1024);
    expect((await post(host.url, body, { 'x-switchboard-signature': sign(body, [t.secret]) })).status).toBe(
      202,
    );
    const row = await stored(event.id);
    expect(bodyOf(row!.value)).toBe(body);
    expect((await settled(event.id)).result).toMatchObject({ created: true });
    expect((await services.customers.get(event.data.customerId)).name).toBe('Müller & Söhne AG – Zürich 😀');
  });

  it('answers 400 with each problem by field, and stores nothing', async () => {
    const event = customerCreated(unique('bad'));
    event.data.adminEmail = 'jane_fabrikam.com#EXT#@contoso.onmicrosoft.com';
    (event.data.subscriptions[0] as { quantity: unknown }).quantity = -3;
    const res = await send(event);
    expect(res.status).toBe(400);
    const fields = (res.body.error as { fields: { field: string }[] }).fields.map((f) => f.field).sort();
    expect(fields).toEqual(['data.adminEmail', 'data.subscriptions.0.quantity']);
    expect(await stored(event.id)).toBeUndefined();
  });
});

describe('POST /api/orders/events: a new customer', () => {
  it('stores the event, answers 202 with its link, creates the customer and e-mails the invitation', async () => {
    const customerId = unique('contoso');
    const event = customerCreated(customerId);
    const res = await send(event);
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/api/orders/events/${event.id}`);
    expect(res.body).toMatchObject({
      id: event.id,
      status: 'accepted',
      links: { self: `/api/orders/events/${event.id}` },
    });

    const done = await settled(event.id);
    expect(done).toMatchObject({ status: 'succeeded', customerId, errors: [] });
    expect(done.result).toMatchObject({
      customerId,
      created: true,
      subscriptions: [
        { sku: 'MCOEV', quantity: 25 },
        { sku: 'MCOPSTNC', quantity: 25 },
      ],
    });
    const customer = await services.customers.get(customerId);
    expect(customer).toMatchObject({
      status: 'active',
      consentState: 'invited',
      createdBy: `orders:${event.id}`,
    });
    const mail = await waitFor(() => outboxFor(event.data.adminEmail)[0]);
    expect(mail.subject).toContain('Contoso Pharmaceuticals GmbH');
    expect(mail.text).toMatch(/\/authenticate\/[A-Za-z0-9_-]{43}/);

    // The ordering system hears that the invitation went out, signed with the webhook secret.
    const callback = await waitFor(() =>
      receiver.received.find((r) => r.body.data.orderEventId === event.id),
    );
    expect(callback.verified).toBe(true);
    expect(callback.body).toMatchObject({
      type: 'customer.invited',
      data: { customerId, sentTo: event.data.adminEmail },
    });
    const audit = await services.audit.list({ customerId });
    expect(audit.items.map((a) => a.action)).toEqual(
      expect.arrayContaining(['customer.created', 'invitation.sent']),
    );
    expect(audit.items.every((a) => a.actor === `orders:${event.id}`)).toBe(true);
  });

  it('makes exactly one customer and one invitation from twenty concurrent copies of one event', async () => {
    const customerId = unique('dup');
    const event = customerCreated(customerId);
    const body = JSON.stringify(event);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        post(host.url, body, { 'x-switchboard-signature': sign(body, [t.secret]) }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    for (const a of answers) expect(a.body).toEqual(answers[0]!.body);

    await settled(event.id);
    // And again after it was applied: the first answer, no second effect.
    const late = await send(event);
    expect(late.status).toBe(202);
    expect(late.body).toEqual(answers[0]!.body);
    await new Promise((r) => setTimeout(r, 1500));

    const customers = await services.customers.list({ pageSize: 1000 });
    expect(customers.items.filter((c) => c.id === customerId)).toHaveLength(1);
    expect(await services.invitations.list({ customerId })).toHaveLength(1);
    expect(outboxFor(event.data.adminEmail)).toHaveLength(1);
    expect(receiver.received.filter((r) => r.body.data.orderEventId === event.id)).toHaveLength(1);
  });

  it('answers 409 to the same id with a different body, and keeps the first', async () => {
    const event = customerCreated(unique('conf'), {});
    expect((await send(event)).status).toBe(202);
    const changed = { ...event, data: { ...event.data, name: 'Somebody Else' } };
    const res = await send(changed);
    expect(res.status).toBe(409);
    expect((await stored(event.id))?.value.bodyHash).toBeDefined();
    // Re-serialised the same (other key order, other spacing) is still the same event.
    const reordered = JSON.stringify(
      { data: event.data, occurredAt: event.occurredAt, id: event.id, type: event.type, specVersion: '1' },
      null,
      2,
    );
    expect(
      (await post(host.url, reordered, { 'x-switchboard-signature': sign(reordered, [t.secret]) })).status,
    ).toBe(202);
    await settled(event.id);
  });
});

describe('POST /api/orders/events: types and order', () => {
  it('stores an unknown type and answers 422, every time', async () => {
    const event = {
      id: unique('evt'),
      type: 'number.ported',
      occurredAt: new Date().toISOString(),
      data: { customerId: 'x1', number: '+31205550100' },
    };
    const first = await send(event);
    expect(first.status).toBe(422);
    expect(first.body.error).toMatchObject({ code: 'unknown_type', id: event.id });
    expect((await send(event)).status).toBe(422);
    expect(await status(event.id)).toMatchObject({
      status: 'rejected',
      type: 'number.ported',
      data: event.data,
    });
    const retry = await fetch(`${host.url}/api/orders/events/${event.id}/retry`, {
      method: 'POST',
      headers: { 'x-functions-key': TEST_FUNCTION_KEY },
    });
    expect(retry.status).toBe(422);
  });

  it('holds an event that arrives before its customer, then applies it when the customer exists', async () => {
    const customerId = unique('early');
    const created = customerCreated(customerId, { occurredAt: new Date(Date.now() - 60_000).toISOString() });
    const suspended = {
      id: unique('evt'),
      type: 'customer.suspended',
      occurredAt: new Date().toISOString(),
      data: { customerId, reason: 'unpaid invoice' },
    };
    expect((await send(suspended)).status).toBe(202);
    const waiting = await waitFor(async () => {
      const s = await status(suspended.id);
      return s.status === 'waiting' ? s : undefined;
    });
    expect(waiting.errors).toEqual([
      expect.objectContaining({ code: 'customer_not_found', field: 'data.customerId' }),
    ]);
    expect(waiting.nextAttemptAt).toBeTruthy();

    expect((await send(created)).status).toBe(202);
    expect((await settled(created.id)).status).toBe('succeeded');
    expect((await settled(suspended.id)).status).toBe('succeeded');
    expect((await services.customers.get(customerId)).status).toBe('suspended');
  });

  it('does not let an older status event undo a newer one that arrived first', async () => {
    const customerId = unique('order');
    const created = customerCreated(customerId, { occurredAt: new Date(Date.now() - 120_000).toISOString() });
    Object.assign(created.data, { sendInvitation: false });
    expect((await send(created)).status).toBe(202);
    await settled(created.id);
    const base = { occurredAt: '', data: { customerId } };
    const suspended = {
      ...base,
      id: unique('evt'),
      type: 'customer.suspended',
      occurredAt: new Date(Date.now() - 60_000).toISOString(),
    };
    const resumed = {
      ...base,
      id: unique('evt'),
      type: 'customer.resumed',
      occurredAt: new Date().toISOString(),
    };
    expect((await send(resumed)).status).toBe(202);
    await settled(resumed.id);
    expect((await send(suspended)).status).toBe(202);
    expect((await settled(suspended.id)).result).toMatchObject({ superseded: true, by: resumed.id });
    expect((await services.customers.get(customerId)).status).toBe('active');
  });

  it('suspends, resumes and cancels; a cancelled customer keeps its audit trail, loses its token, and cannot be resumed', async () => {
    const customerId = unique('life');
    const created = customerCreated(customerId, { occurredAt: new Date(Date.now() - 10_000).toISOString() });
    await send(created);
    await settled(created.id);
    // The consent flow would have stored a refresh token; put one there as it would.
    const tokenSecretName = `token-${customerId}`;
    await services.secrets.set(tokenSecretName, 'refresh-token-value');
    await services.onboarding.customers.mutate('customer', customerId, (c) => ({
      ...c,
      consentState: 'consented',
      tokenSecretName,
    }));
    const at = (s: number) => new Date(Date.now() + s * 1000).toISOString();
    const ev = (type: string, s: number) => ({
      id: unique('evt'),
      type,
      occurredAt: at(s),
      data: { customerId, reason: null },
    });
    const steps = [
      ev('customer.suspended', 1),
      ev('customer.suspended', 2),
      ev('customer.resumed', 3),
      ev('customer.cancelled', 4),
    ];
    for (const e of steps) {
      expect((await send(e)).status).toBe(202);
      expect((await settled(e.id)).status).toBe('succeeded');
    }
    const customer = await services.customers.get(customerId);
    expect(customer).toMatchObject({ status: 'cancelled', consentState: 'none' });
    expect(customer.tokenSecretName).toBeUndefined();
    expect(await services.secrets.get(tokenSecretName)).toBeUndefined();
    const actions = (await services.audit.list({ customerId })).items.map((a) => a.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'customer.created',
        'customer.suspended',
        'customer.active',
        'customer.cancelled',
        'customer.token_revoked',
        'sbc.cleanup_pending',
      ]),
    );
    expect(actions.filter((a) => a === 'customer.suspended')).toHaveLength(1);

    const resume = ev('customer.resumed', 5);
    await send(resume);
    const failed = await settled(resume.id);
    expect(failed).toMatchObject({
      status: 'failed',
      errors: [expect.objectContaining({ code: 'customer_cancelled' })],
    });
    const report = await waitFor(() =>
      receiver.received.find((r) => r.body.type === 'order.failed' && r.body.data.eventId === resume.id),
    );
    expect(report.verified).toBe(true);
  });

  it('resends an invitation on request, and corrects the address when the admin e-mail changes', async () => {
    const customerId = unique('resend');
    const created = customerCreated(customerId, { occurredAt: new Date(Date.now() - 10_000).toISOString() });
    await send(created);
    await settled(created.id);
    const resend = {
      id: unique('evt'),
      type: 'invitation.resend',
      occurredAt: new Date().toISOString(),
      data: { customerId },
    };
    await send(resend);
    expect((await settled(resend.id)).status).toBe('succeeded');
    expect(outboxFor(created.data.adminEmail)).toHaveLength(2);

    const newAdmin = `new-admin.${customerId}@contoso-pharma.onmicrosoft.com`;
    const updated = {
      id: unique('evt'),
      type: 'customer.updated',
      occurredAt: new Date().toISOString(),
      data: { customerId, adminEmail: newAdmin, name: null },
    };
    await send(updated);
    expect((await settled(updated.id)).result).toMatchObject({
      fields: ['adminEmail'],
      invitation: { sentTo: newAdmin },
    });
    expect(outboxFor(newAdmin)).toHaveLength(1);
    const invitations = await services.invitations.list({ customerId });
    expect(invitations.filter((i) => i.status === 'pending')).toEqual([
      expect.objectContaining({ sentTo: newAdmin }),
    ]);
  });
});

describe('GET /api/orders/events', () => {
  it('needs a function key, and lists and filters', async () => {
    expect((await fetch(`${host.url}/api/orders/events`)).status).toBe(401);
    const res = await fetch(`${host.url}/api/orders/events?status=rejected`, {
      headers: { 'x-functions-key': TEST_FUNCTION_KEY },
    });
    const page = (await res.json()) as { items: { status: string }[] };
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.every((i) => i.status === 'rejected')).toBe(true);
    const missing = await fetch(`${host.url}/api/orders/events/nope-${Date.now()}`, {
      headers: { 'x-functions-key': TEST_FUNCTION_KEY },
    });
    expect(missing.status).toBe(404);
  });
});
