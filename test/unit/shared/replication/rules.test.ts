import { describe, expect, it } from 'vitest';
import {
  chunks,
  isResyncAnswer,
  reconcileUser,
  retryAfterMs,
  syncDue,
  tenantBudget,
  userContent,
} from '../../../../shared/replication/rules';

const user = (over: Record<string, unknown> = {}) =>
  userContent({
    id: 'u1',
    displayName: 'Alex',
    userPrincipalName: 'alex@contoso.com',
    assignedLicenses: [{ skuId: 'E3', disabledPlans: [] }],
    ...over,
  });

describe('replication rules', () => {
  it('hashes content, not order: the same user twice is the same row', () => {
    expect(user().hash).toBe(user().hash);
    expect(user({ department: 'Sales' }).hash).not.toBe(user().hash);
    expect(user().search).toBe('alex\nalex@contoso.com');
  });

  it('names each chore of the sync note', () => {
    expect(reconcileUser(user(), { ...user(), userPrincipalName: 'a.w@contoso.com' })).toEqual([
      { kind: 'user.signInNameChanged', userId: 'u1', from: 'alex@contoso.com', to: 'a.w@contoso.com' },
    ]);
    expect(reconcileUser(user(), user({ assignedLicenses: [] }))[0]).toMatchObject({
      kind: 'user.licencesRemoved',
      skuIds: ['E3'],
    });
    expect(
      reconcileUser(user(), user({ assignedLicenses: [{ skuId: 'E5', disabledPlans: [] }] }))[0],
    ).toMatchObject({
      kind: 'user.licencesSwitched',
      from: ['E3'],
      to: ['E5'],
    });
    expect(reconcileUser(user(), { removed: 'changed', id: 'u1' })[0]).toMatchObject({
      kind: 'user.removed',
      permanent: false,
    });
    // A user we never had is no reconciliation; nothing changed is none either.
    expect(reconcileUser(undefined, user())).toEqual([]);
    expect(reconcileUser(user(), user())).toEqual([]);
  });

  it('reads Retry-After as Microsoft sends it, fractions and dates included', () => {
    expect(retryAfterMs('2.128', 0)).toBe(2128);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(
      10_000,
    );
    expect(retryAfterMs(null, 0, 7)).toBe(7);
  });

  it('knows when Graph asks to start over', () => {
    expect(isResyncAnswer(410, undefined)).toBe(true);
    expect(isResyncAnswer(400, 'syncStateNotFound')).toBe(true);
    expect(isResyncAnswer(400, 'BadRequest')).toBe(false);
  });

  it('budgets, chunks and the timer slot', () => {
    expect([tenantBudget(10), tenantBudget(200), tenantBudget(2000)]).toEqual([3500, 5000, 8000]);
    expect(chunks([...Array(250).keys()]).map((c) => c.length)).toEqual([100, 100, 50]);
    expect(syncDue(new Date('2026-01-01T10:05:00Z'), 5)).toBe(true);
    expect(syncDue(new Date('2026-01-01T10:06:00Z'), 5)).toBe(false);
  });
});
