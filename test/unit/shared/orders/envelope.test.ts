import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../../shared/errors';
import { parseEvent } from '../../../../shared/orders/envelope';

const created = (data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'evt-0001',
  type: 'customer.created',
  occurredAt: '2026-11-23T06:00:00Z',
  data: { customerId: 'contoso', name: 'Contoso Ltd', adminEmail: 'admin@contoso.onmicrosoft.com', ...data },
  ...extra,
});

function fieldsOf(body: unknown): string[] {
  try {
    parseEvent(body);
  } catch (e) {
    if (e instanceof ValidationError) return e.fields.map((f) => f.field);
    throw e;
  }
  return [];
}

describe('order event envelope', () => {
  it('accepts a customer.created event and normalises it', () => {
    const parsed = parseEvent(
      created({ adminEmail: ' Admin@Contoso.OnMicrosoft.com ', tenantDomain: 'Contoso.com' }),
    );
    expect(parsed.kind).toBe('known');
    if (parsed.kind !== 'known') return;
    expect(parsed.data).toMatchObject({ customerId: 'contoso', adminEmail: 'admin@contoso.onmicrosoft.com' });
    expect(parsed.data).toMatchObject({ tenantDomain: 'contoso.com' });
  });

  it('refuses a guest (#EXT#) account as the admin login, in any case', () => {
    for (const adminEmail of [
      'jane_fabrikam.com#EXT#@contoso.onmicrosoft.com',
      'jane_fabrikam.com#ext#@contoso.onmicrosoft.com',
    ]) {
      expect(fieldsOf(created({ adminEmail }))).toEqual(['data.adminEmail']);
    }
  });

  it('checks admin e-mail addresses properly', () => {
    for (const adminEmail of [
      'a..b@contoso.com',
      'admin@contoso',
      'admin @contoso.com',
      'a{b}@contoso.com',
      '',
      'x'.repeat(250) + '@c.com',
      'admin@-contoso.com',
    ]) {
      expect(fieldsOf(created({ adminEmail }))).toEqual(['data.adminEmail']);
    }
    for (const adminEmail of [
      "o'brien@contoso.com",
      'first.last+teams@contoso.co.uk',
      'admin@xn--mller-kva.de',
    ]) {
      expect(fieldsOf(created({ adminEmail }))).toEqual([]);
    }
  });

  it('tolerates unknown fields and nulls in optional fields', () => {
    const parsed = parseEvent(
      created(
        {
          tenantDomain: null,
          tenantId: null,
          sendInvitation: null,
          subscriptions: null,
          billingRef: { x: 1 },
        },
        { specVersion: null, source: 'billing', extra: [1, 2] },
      ),
    );
    expect(parsed.kind).toBe('known');
    if (parsed.kind !== 'known') return;
    expect(parsed.data).toEqual({
      customerId: 'contoso',
      name: 'Contoso Ltd',
      adminEmail: 'admin@contoso.onmicrosoft.com',
      tenantDomain: undefined,
      tenantId: undefined,
      sendInvitation: undefined,
      subscriptions: undefined,
    });
  });

  it('refuses null in a required field, naming it', () => {
    expect(fieldsOf(created({ name: null }))).toEqual(['data.name']);
    expect(fieldsOf({ ...created({}), id: null })).toEqual(['id']);
  });

  it('takes counts as whole numbers from 0 (numbers or digit strings), nothing else', () => {
    const subs = (quantity: unknown) => created({ subscriptions: [{ sku: 'TEAMS-PHONE', quantity }] });
    for (const ok of [0, 1, 25, '3', ' 7 ', 1_000_000]) expect(fieldsOf(subs(ok))).toEqual([]);
    for (const bad of [-1, 1.5, '-1', '1.5', 'ten', null, true, 1e7, Number.NaN]) {
      expect(fieldsOf(subs(bad))).toEqual(['data.subscriptions.0.quantity']);
    }
    const parsed = parseEvent(subs('12'));
    expect(parsed.kind === 'known' && parsed.data).toMatchObject({
      subscriptions: [{ sku: 'TEAMS-PHONE', quantity: 12 }],
    });
  });

  it('reports every problem field by field', () => {
    const fields = fieldsOf({
      id: 'bad id with spaces',
      type: 'customer.created',
      occurredAt: 'yesterday',
      data: { customerId: '-x', name: '', adminEmail: 'nope' },
    });
    expect(fields.sort()).toEqual(['id', 'occurredAt']);
    expect(fieldsOf(created({ customerId: '-x', name: '', adminEmail: 'nope' })).sort()).toEqual([
      'data.adminEmail',
      'data.customerId',
      'data.name',
    ]);
  });

  it('returns an unknown type or spec version as unsupported (to be stored, not dropped)', () => {
    expect(parseEvent({ ...created({}), type: 'number.ported' })).toMatchObject({
      kind: 'unsupported',
      reason: 'unknown_type',
    });
    expect(parseEvent({ ...created({}), specVersion: '2' })).toMatchObject({
      kind: 'unsupported',
      reason: 'unsupported_spec_version',
    });
    // An own-property check: inherited names are not event types.
    expect(parseEvent({ ...created({}), type: 'constructor' })).toMatchObject({ kind: 'unsupported' });
  });

  it('needs data to be an object and occurredAt to carry a time zone', () => {
    expect(fieldsOf({ ...created({}), data: [1] })).toEqual(['data']);
    expect(fieldsOf({ ...created({}), data: 'x' })).toEqual(['data']);
    expect(fieldsOf({ ...created({}), occurredAt: '2026-11-23T06:00:00' })).toEqual(['occurredAt']);
    expect(fieldsOf({ ...created({}), occurredAt: '2026-11-23T07:00:00+01:00' })).toEqual([]);
  });

  it('validates every event type', () => {
    const base = { id: 'e1', occurredAt: '2026-11-23T06:00:00Z' };
    for (const type of ['customer.suspended', 'customer.resumed', 'customer.cancelled']) {
      expect(parseEvent({ ...base, type, data: { customerId: 'contoso', reason: null } }).kind).toBe('known');
      expect(fieldsOf({ ...base, type, data: { reason: 'x' } })).toEqual(['data.customerId']);
    }
    expect(parseEvent({ ...base, type: 'invitation.resend', data: { customerId: 'contoso' } }).kind).toBe(
      'known',
    );
    expect(
      parseEvent({ ...base, type: 'customer.updated', data: { customerId: 'contoso', name: null } }).kind,
    ).toBe('known');
    expect(
      fieldsOf({
        ...base,
        type: 'customer.updated',
        data: { customerId: 'contoso', adminEmail: 'x#EXT#@y.com' },
      }),
    ).toEqual(['data.adminEmail']);
  });

  it('never throws anything but a ValidationError, whatever the JSON (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseEvent(value);
        } catch (e) {
          expect(e).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
