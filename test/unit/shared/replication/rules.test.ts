import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chunks,
  isResyncAnswer,
  reconcileRoleRevoked,
  reconcileUser,
  refreshDue,
  retryAfterMs,
  revokedRoles,
  singleEntity,
  voiceContent,
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

describe('Teams voice and admin roles', () => {
  const sample = JSON.parse(
    readFileSync(
      path.resolve(
        __dirname,
        '../../../fixtures/microsoft/replication/teams-userConfigurations-list-response.json',
      ),
      'utf8',
    ),
  ) as { value: Record<string, unknown>[] };

  it('reads the documented userConfiguration: primary number, policies by type, Enterprise Voice', () => {
    const v = voiceContent(sample.value[0]!);
    expect(v).toMatchObject({
      userId: '5c802b19-3600-83f1-1767-7b9edc7f38ab',
      userPrincipalName: 'AdeleV@contoso.com',
      primaryNumber: '+13235533696',
      telephoneNumbers: [{ telephoneNumber: '+13235533696', assignmentCategory: 'primary' }],
      voiceRoutingPolicy: null,
      dialPlan: null,
      policies: { TeamsCallingPolicy: 'AllOn', TeamsMeetingPolicy: 'CustomPolicy' },
      enterpriseVoiceEnabled: false,
      accountType: 'user',
    });
  });

  it('names the voice routing policy and dial plan; the hash ignores the order Microsoft lists policies in', () => {
    const assignment = (policyType: string, displayName: string) => ({
      policyType,
      policyAssignment: { displayName, assignmentType: 'direct', policyId: 'x' },
    });
    const a = voiceContent({
      id: 'U1',
      effectivePolicyAssignments: [
        assignment('OnlineVoiceRoutingPolicy', 'Unrestricted'),
        assignment('TenantDialPlan', 'US'),
      ],
      telephoneNumbers: [
        { telephoneNumber: '+1425', assignmentCategory: 'alternate' },
        { telephoneNumber: '+1426', assignmentCategory: 'primary' },
      ],
      isEnterpriseVoiceEnabled: true,
    });
    const b = voiceContent({
      id: 'U1',
      effectivePolicyAssignments: [
        assignment('TenantDialPlan', 'US'),
        assignment('OnlineVoiceRoutingPolicy', 'Unrestricted'),
      ],
      telephoneNumbers: [
        { telephoneNumber: '+1425', assignmentCategory: 'alternate' },
        { telephoneNumber: '+1426', assignmentCategory: 'primary' },
      ],
      isEnterpriseVoiceEnabled: true,
    });
    expect(a).toMatchObject({
      userId: 'u1',
      voiceRoutingPolicy: 'Unrestricted',
      dialPlan: 'US',
      primaryNumber: '+1426',
    });
    expect(a.hash).toBe(b.hash);
    expect(voiceContent({ id: 'u1' }).hash).not.toBe(a.hash);
  });

  it('accepts a single read wrapped in value (the documented sample) or bare', () => {
    expect(singleEntity({ value: { id: 'a' } })).toEqual({ id: 'a' });
    expect(singleEntity({ id: 'a' })).toEqual({ id: 'a' });
  });

  it('a revoked role is a chore only for a user still in the tenant', () => {
    const held = { roleTemplateId: 'r1', memberId: 'u1', since: '2026-01-01T00:00:00.000Z' };
    const name = (id: string) => (id === 'r1' ? 'User Administrator' : id);
    expect(reconcileRoleRevoked(held, { userPrincipalName: 'a@c.com', deleted: false }, name)).toEqual([
      {
        kind: 'user.adminRoleRevoked',
        userId: 'u1',
        userPrincipalName: 'a@c.com',
        roleTemplateId: 'r1',
        role: 'User Administrator',
        since: '2026-01-01T00:00:00.000Z',
      },
    ]);
    expect(reconcileRoleRevoked(held, { userPrincipalName: 'a@c.com', deleted: true }, name)).toEqual([]);
    expect(reconcileRoleRevoked(held, undefined, name)).toEqual([]);
    expect(revokedRoles(['r1', 'r2'], ['r2'])).toEqual(['r1']);
  });

  it('a slower refresh is due when never done or its minutes have passed', () => {
    const at = new Date('2026-01-01T12:00:00Z');
    expect(refreshDue(undefined, at, 60)).toBe(true);
    expect(refreshDue('2026-01-01T11:01:00Z', at, 60)).toBe(false);
    expect(refreshDue('2026-01-01T11:00:00Z', at, 60)).toBe(true);
    expect(refreshDue('garbage', at, 60)).toBe(true);
  });
});
