import { HttpRequest, InvocationContext } from '@azure/functions';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receiveOrderEvent } from '../../../functions/orders/webhook';
import { contentHash } from '../../../shared/orders/canonical-json';
import { eventIdSchema } from '../../../shared/orders/envelope';
import { bodyOf, partitionOf } from '../../../shared/orders/repositories';
import { signatureHeader } from '../../../shared/orders/signature';
import { services } from '../../../shared/services';
import { ordersSettings, putSecrets, type OrdersTestSettings } from './helpers';

/**
 * Thousands of generated requests, most of them signed, straight through the webhook's handler
 * against real Azurite: none may get a 5xx, and after each one the store holds either nothing for
 * that event or the whole event exactly as sent (and a queue message for it).
 */
const RUNS = Number(process.env.ORDERS_FUZZ_RUNS ?? 10_000);

let t: OrdersTestSettings;
let saved: Record<string, string | undefined>;

beforeAll(async () => {
  t = ordersSettings();
  saved = Object.fromEntries(Object.keys(t.settings).map((k) => [k, process.env[k]]));
  // The handler uses the process-wide services, built from the app settings on first use.
  Object.assign(process.env, t.settings);
  await putSecrets(services(), t);
});

afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const knownTypes = [
  'customer.created',
  'customer.updated',
  'customer.suspended',
  'customer.resumed',
  'customer.cancelled',
  'invitation.resend',
];

const maybe = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: arb }, fc.constant(null), fc.constant(undefined), fc.jsonValue());

const email = fc.oneof(
  fc.emailAddress(),
  fc.emailAddress().map((e) => e.replace('@', '#EXT#@')),
  fc.emailAddress().map((e) => ` ${e.toUpperCase()} `),
  fc.string({ maxLength: 40 }),
);

const data = fc.record(
  {
    customerId: maybe(
      fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$/), fc.string({ maxLength: 50 })),
    ),
    name: maybe(fc.string({ maxLength: 220, unit: 'binary' })),
    adminEmail: maybe(email),
    tenantDomain: maybe(fc.oneof(fc.domain(), fc.string({ maxLength: 30 }))),
    tenantId: maybe(fc.oneof(fc.uuid(), fc.string({ maxLength: 40 }))),
    sendInvitation: maybe(fc.boolean()),
    reason: maybe(fc.string({ maxLength: 600 })),
    subscriptions: maybe(
      fc.array(
        fc.record({
          sku: maybe(fc.string({ maxLength: 30 })),
          quantity: fc.oneof(
            fc.integer({ min: -5, max: 2_000_000 }),
            fc.double(),
            fc.stringMatching(/^-?\d{0,10}(\.\d)?$/),
            fc.constant(null),
          ),
        }),
        { maxLength: 4 },
      ),
    ),
    extra: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: [] },
);

/** Values an ordering system sends when it gets things right. */
const good = {
  customerId: fc.stringMatching(/^[a-z0-9][a-z0-9-]{2,20}$/),
  name: fc
    .string({ minLength: 1, maxLength: 60 })
    // eslint-disable-next-line no-control-regex -- a good name has none
    .filter((n) => n.trim() !== '' && !/[\u0000-\u001f\u007f]/.test(n)),
  adminEmail: fc
    .tuple(
      fc.stringMatching(/^[a-z0-9]{1,12}(\.[a-z0-9]{1,8})?$/),
      fc.stringMatching(/^[a-z0-9]{2,12}\.(com|de|onmicrosoft\.com)$/),
    )
    .map(([local, domain]) => `${local}@${domain}`),
  tenantDomain: fc.option(fc.stringMatching(/^[a-z0-9]{2,12}\.onmicrosoft\.com$/)),
  tenantId: fc.option(fc.uuid()),
  reason: fc.option(fc.string({ maxLength: 100 })),
  subscriptions: fc.option(
    fc.array(fc.record({ sku: fc.stringMatching(/^[A-Z][A-Z0-9_]{2,15}$/), quantity: fc.nat(500) }), {
      maxLength: 3,
    }),
  ),
};
const goodData = fc.record({
  customerId: good.customerId,
  name: good.name,
  adminEmail: good.adminEmail,
  tenantDomain: good.tenantDomain,
  tenantId: good.tenantId,
  reason: good.reason,
  subscriptions: good.subscriptions,
});

/** What goes wrong in real integrations: nulls, guests, bad counts, junk, unknown fields, missing fields. */
const nasty = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(''),
  fc.constant(-1),
  fc.constant('jane_fabrikam.com#EXT#@contoso.onmicrosoft.com'),
  fc.constant([{ sku: 'X', quantity: -2 }]),
  fc.constant([{ sku: 'X', quantity: 1.5 }]),
  fc.string({ maxLength: 300, unit: 'binary' }),
  fc.jsonValue({ maxDepth: 2 }),
);
const dataFields = [
  'customerId',
  'name',
  'adminEmail',
  'tenantDomain',
  'tenantId',
  'reason',
  'subscriptions',
  'sendInvitation',
  'somethingNew',
];
const envelopeFields = ['id', 'type', 'occurredAt', 'specVersion', 'data', 'somethingNew'];

const goodEnvelope = fc.record({
  id: fc.oneof(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,40}$/)),
  type: fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom(...knownTypes) },
    fc.constantFrom('site.created', 'number_prefix.added', 'user.assigned'),
  ),
  occurredAt: fc
    .date({ noInvalidDate: true, min: new Date('2000-01-01'), max: new Date('2100-01-01') })
    .map((d) => d.toISOString()),
  specVersion: fc.constantFrom('1', null, undefined),
  data: goodData,
});

/** A good event with up to three fields spoiled (in the envelope or in its data). */
const envelope = fc
  .tuple(goodEnvelope, fc.array(fc.tuple(fc.boolean(), fc.nat(20), nasty), { maxLength: 3 }), fc.nat(3))
  .map(([e, spoils, clean]) => {
    const out: Record<string, unknown> = { ...e, data: { ...e.data } };
    if (clean > 0) return out; // three in four stay good
    for (const [inData, at, value] of spoils) {
      const d = out.data;
      if (inData && typeof d === 'object' && d !== null && !Array.isArray(d)) {
        (d as Record<string, unknown>)[dataFields[at % dataFields.length]!] = value;
      } else if (!inData) out[envelopeFields[at % envelopeFields.length]!] = value;
    }
    return out;
  });

const wildEnvelope = fc.record(
  {
    id: fc.oneof(fc.uuid(), fc.string({ maxLength: 140 }), fc.integer()),
    type: fc.oneof(
      fc.constantFrom(...knownTypes),
      fc.stringMatching(/^[a-z]{1,10}\.[a-z_]{1,12}$/),
      fc.string({ maxLength: 20 }),
      fc.constant(null),
    ),
    occurredAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string({ maxLength: 30 }),
    ),
    specVersion: fc.oneof(fc.constant('1'), fc.constant(null), fc.string({ maxLength: 4 })),
    data: fc.oneof({ weight: 8, arbitrary: data }, fc.jsonValue()),
    source: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['id', 'type', 'occurredAt', 'data'] },
);

/** The body as bytes: a generated event, arbitrary JSON, arbitrary text, or bytes that are not UTF-8. */
const body = fc.oneof(
  { weight: 14, arbitrary: envelope.map((e) => Buffer.from(JSON.stringify(e))) },
  { weight: 4, arbitrary: wildEnvelope.map((e) => Buffer.from(JSON.stringify(e))) },
  fc.json().map((s) => Buffer.from(s)),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
);

type Signing = 'valid' | 'previous' | 'missing' | 'wrong' | 'stale' | 'altered' | 'garbage';
const signing = fc.oneof(
  { weight: 14, arbitrary: fc.constant<Signing>('valid') },
  { weight: 2, arbitrary: fc.constant<Signing>('previous') },
  fc.constantFrom<Signing>('missing', 'wrong', 'stale', 'altered', 'garbage'),
);

/** Ids stored so far with their content hash, and how many events were accepted for processing. */
const storedIds = new Map<string, string>();
let accepted = 0;
const tally: Record<number, number> = {};

function idOf(raw: Buffer): string | undefined {
  try {
    const id = (JSON.parse(raw.toString('utf8')) as { id?: unknown }).id;
    // Only ids the webhook could have stored (others cannot be a row key, so cannot be looked up).
    return eventIdSchema.safeParse(id).success ? (id as string) : undefined;
  } catch {
    return undefined;
  }
}

async function call(raw: Buffer, header: string | undefined) {
  const request = new HttpRequest({
    method: 'POST',
    url: 'https://switchboard.example/api/orders/events',
    headers: { 'content-type': 'application/json', ...(header ? { 'x-switchboard-signature': header } : {}) },
    body: { bytes: raw },
  });
  const context = new InvocationContext({ functionName: 'receiveOrderEvent', logHandler: () => undefined });
  return (await receiveOrderEvent.handler(request, context)) as { status: number; jsonBody: unknown };
}

function signed(raw: Buffer, how: Signing): { header: string | undefined; sent: Buffer } {
  const now = Math.floor(Date.now() / 1000);
  switch (how) {
    case 'valid':
      return { header: signatureHeader([t.secret], raw, now), sent: raw };
    case 'previous':
      return { header: signatureHeader([t.previousSecret], raw, now), sent: raw };
    case 'missing':
      return { header: undefined, sent: raw };
    case 'wrong':
      return { header: signatureHeader(['not-our-secret'], raw, now), sent: raw };
    case 'stale':
      return { header: signatureHeader([t.secret], raw, now - 301), sent: raw };
    case 'altered':
      return { header: signatureHeader([t.secret], raw, now), sent: Buffer.concat([raw, Buffer.from(' ')]) };
    case 'garbage':
      return { header: `t=${now},v1=${'z'.repeat(64)}`, sent: raw };
  }
}
describe('orders webhook fuzz', () => {
  it(
    `never answers 5xx and never leaves a partial write (${RUNS} generated requests)`,
    { timeout: 900_000 },
    async () => {
      const { events } = services().orders.repos;
      await fc.assert(
        fc.asyncProperty(body, signing, fc.nat(9), async (raw, how, replay) => {
          // Now and then, send an id that is already stored again: the same body, or another one.
          if (replay === 0 && storedIds.size > 0) {
            const ids = [...storedIds.keys()];
            const id = ids[raw.length % ids.length]!;
            const row = (await events.get(partitionOf(id), id))!.value;
            raw = Buffer.from(raw.length % 2 === 0 ? bodyOf(row) : bodyOf(row).replace(/}$/, ',"x":1}'));
          }
          const { header, sent } = signed(raw, how);
          const id = idOf(sent);
          const before = id !== undefined ? storedIds.get(id) : undefined;
          const res = await call(sent, header);
          tally[res.status] = (tally[res.status] ?? 0) + 1;

          expect(res.status, JSON.stringify(res.jsonBody)).toBeLessThan(500);
          expect([202, 400, 401, 409, 413, 422]).toContain(res.status);
          if (how !== 'valid' && how !== 'previous') expect(res.status).toBe(401);

          const row = id !== undefined ? (await events.get(partitionOf(id), id))?.value : undefined;
          if (res.status === 202 || res.status === 422) {
            // Stored whole: the exact body, its hash, and a state that matches the answer.
            expect(row).toBeDefined();
            const json = JSON.parse(sent.toString('utf8')) as unknown;
            if (before === undefined) {
              expect(bodyOf(row!)).toBe(new TextDecoder().decode(sent));
              expect(row!.bodyHash).toBe(contentHash(json));
              expect(row!.answerStatus).toBe(res.status);
              storedIds.set(id!, row!.bodyHash);
              if (res.status === 202) {
                accepted++;
                expect(['queued', 'received']).toContain(row!.status);
              } else {
                expect(row!.status).toBe('rejected');
              }
            } else {
              expect(contentHash(json)).toBe(before);
            }
          } else if (before === undefined) {
            // Refused: nothing stored for it.
            expect(row).toBeUndefined();
          } else {
            // Refused a copy of a stored event: the stored one is untouched.
            expect(row!.bodyHash).toBe(before);
          }
        }),
        { numRuns: RUNS },
      );

      // Every accepted event has its queue message (the enqueue never silently failed).
      const props = await services().storage.queue('orders').getProperties();
      expect(props.approximateMessagesCount).toBe(accepted);
      console.log(`fuzz: ${RUNS} requests, answers ${JSON.stringify(tally)}, ${accepted} accepted`);
      expect(accepted).toBeGreaterThan(RUNS / 20);
      expect(tally[400]).toBeGreaterThan(RUNS / 20);
    },
  );
});
