import { describe, expect, it } from 'vitest';
import type { ChangeRow } from '../../../../shared/replication/changes/model';
import {
  changeInputSchema,
  isDue,
  nextPushAt,
  outcomeOf,
  planBatches,
  rowsOf,
} from '../../../../shared/replication/changes/rules';

const u = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const sku = '05e9a617-0261-4cee-bb44-138d3ef5d965';
const at = '2026-01-01T10:00:00.000Z';
const base = {
  customerId: 'c1',
  actor: 'op',
  at,
  notBefore: '2026-01-01T10:05:00.000Z',
  idOf: (n: number) => `id${String(n).padStart(3, '0')}`,
};

describe('change input', () => {
  it('takes GUIDs, ISO 3166-1 alpha-2 locations and E.164 numbers; refuses the rest', () => {
    expect(
      changeInputSchema.safeParse({ userId: u(1), usageLocation: 'GB', phoneNumber: '+442079460000' })
        .success,
    ).toBe(true);
    expect(changeInputSchema.safeParse({ userId: u(1), usageLocation: 'XX' }).success).toBe(false);
    expect(changeInputSchema.safeParse({ userId: u(1), usageLocation: 'gb' }).success).toBe(false);
    expect(changeInputSchema.safeParse({ userId: u(1), phoneNumber: '442079460000' }).success).toBe(false);
    expect(changeInputSchema.safeParse({ userId: 'bob', department: 'x' }).success).toBe(false);
    expect(changeInputSchema.safeParse({ userId: u(1) }).success).toBe(false);
    expect(
      changeInputSchema.safeParse({ userId: u(1), addLicenses: [sku], removeLicenses: [sku] }).success,
    ).toBe(false);
    expect(changeInputSchema.safeParse({ userId: u(1), addLicenses: ['E3'] }).success).toBe(false);
  });

  it('one input becomes one row per Graph write, profile before licences before the number', () => {
    const input = changeInputSchema.parse({
      userId: u(1),
      usageLocation: 'GB',
      addLicenses: [sku],
      phoneNumber: '+442079460000',
    });
    expect(rowsOf(input, base, 0).map((r) => [r.id, r.kind])).toEqual([
      ['id000', 'profile'],
      ['id001', 'licences'],
      ['id002', 'number'],
    ]);
  });
});

const row = (i: number, kind: ChangeRow['kind'], user = u(i)): ChangeRow => ({
  customerId: 'c1',
  id: `id${String(i).padStart(3, '0')}`,
  userId: user,
  kind,
  ...(kind === 'profile' ? { profile: { department: 'x' } } : { addLicenses: [sku], removeLicenses: [] }),
  status: 'queued',
  attempts: 0,
  notBefore: base.notBefore,
  actor: 'op',
  createdAt: at,
  updatedAt: at,
});

describe('batches', () => {
  it('45 writes make 3 requests of at most 20', () => {
    const plans = planBatches(Array.from({ length: 45 }, (_, i) => row(i, 'profile')));
    expect(plans.map((p) => p.items.length)).toEqual([20, 20, 5]);
  });

  it('every request is fully parallel (no dependsOn): profiles and licences are planned apart, a user never twice in one request', () => {
    const rows = [
      ...Array.from({ length: 19 }, (_, i) => row(i, 'profile')),
      row(19, 'profile', u(99)),
      row(20, 'profile', u(99)),
    ];
    const plans = planBatches(rows);
    expect(plans.map((p) => p.items.length)).toEqual([20, 1]);
    for (const p of plans) for (const item of p.items) expect(item).not.toHaveProperty('dependsOn');
    expect([...plans[1]!.rows.values()].map((r) => r.id)).toEqual(['id020']);
    const licences = planBatches([row(1, 'licences'), row(2, 'licences')]);
    expect(licences[0]!.items.map((i) => [i.method, i.url])).toEqual([
      ['POST', `/users/${u(1)}/assignLicense`],
      ['POST', `/users/${u(2)}/assignLicense`],
    ]);
  });
});

describe('answers', () => {
  it('429 keeps its own Retry-After, fractional seconds included; 4xx fails with the code', () => {
    expect(outcomeOf({ status: 429, headers: { 'Retry-After': '2.128' } }, 0)).toEqual({
      status: 'throttled',
      retryAfterMs: 2128,
    });
    expect(outcomeOf({ status: 429, headers: { 'retry-after': '7' } }, 0)).toEqual({
      status: 'throttled',
      retryAfterMs: 7000,
    });
    expect(outcomeOf({ status: 424 }, 0).status).toBe('failed');
    expect(outcomeOf({ status: 204 }, 0)).toEqual({ status: 'succeeded' });
    expect(outcomeOf({ status: 503 }, 0).status).toBe('throttled');
    expect(outcomeOf({ status: 500 }, 0)).toEqual({ status: 'retry' });
    expect(
      outcomeOf({ status: 400, body: { error: { code: 'Request_BadRequest', message: 'no' } } }, 0),
    ).toEqual({
      status: 'failed',
      code: 'Request_BadRequest',
      message: 'no',
    });
  });
});

describe('timing', () => {
  const now = Date.parse('2026-01-01T10:01:00.000Z');
  it('queued changes wait for the quiet period unless pushed now; a Retry-After holds even then', () => {
    expect(isDue(row(1, 'profile'), now, false)).toBe(false);
    expect(isDue(row(1, 'profile'), now, true)).toBe(true);
    const throttled = { ...row(1, 'profile'), status: 'throttled' as const };
    expect(isDue(throttled, now, true)).toBe(false);
    expect(isDue(throttled, Date.parse(base.notBefore), true)).toBe(true);
    // A change left in `pushing` is due at its notBefore (set to the attempt's time when marked).
    expect(isDue({ ...row(1, 'profile'), status: 'pushing', notBefore: at }, now, false)).toBe(true);
    expect(isDue({ ...row(1, 'number'), status: 'pushing' }, now, true)).toBe(false);
    expect(isDue({ ...row(1, 'profile'), status: 'succeeded' }, now, true)).toBe(false);
  });

  it("the tenant's next push is its earliest open change", () => {
    expect(
      nextPushAt([
        { ...row(1, 'profile'), notBefore: 'b' },
        { ...row(2, 'profile'), notBefore: 'a' },
        { ...row(3, 'profile'), notBefore: '0', status: 'succeeded' },
      ]),
    ).toBe('a');
    expect(nextPushAt([])).toBeUndefined();
  });
});
