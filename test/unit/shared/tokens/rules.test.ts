import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TokenErrorBody, TokenFailure } from '../../../../shared/identity/token-client';
import { graphScopes } from '../../../../shared/identity/scopes';
import {
  classifyTokenFailure,
  expiresIfUnusedBy,
  missingScopes,
  nextHealth,
  parseRetryAfter,
  UNAUTHORIZED_CLIENT_CONFIRM_AFTER,
  vaultWriteDue,
  type ClassifiedFailure,
} from '../../../../shared/tokens/rules';

const dir = path.resolve(__dirname, '../../../fixtures/microsoft/tokens');
const body = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as TokenErrorBody;
const now = new Date('2026-03-01T12:00:00Z');
const http = (status: number, b: TokenErrorBody | undefined, retryAfter?: string): TokenFailure => ({
  kind: 'http',
  status,
  retryAfter,
  body: b,
});
const classify = (file: string, status = 400) => classifyTokenFailure(http(status, body(file)), now);

describe('Microsoft’s documented error bodies', () => {
  it.each([
    ['aadsts-65001.json', 'consent_withdrawn', 'consent_required'],
    ['aadsts-50173.json', 'grant_revoked', 'bad_token'],
    ['aadsts-70008.json', 'grant_expired', undefined],
    ['aadsts-700082.json', 'inactive_refresh_token', 'bad_token'],
    ['aadsts-70043.json', 'sign_in_frequency', 'token_expired'],
    ['aadsts-53003.json', 'conditional_access', 'message_only'],
    ['aadsts-50076.json', 'mfa_required', 'basic_action'],
    ['aadsts-50079.json', 'mfa_registration_required', 'additional_action'],
  ])('%s needs the admin to consent again (%s)', (file, reason, suberror) => {
    const c = classify(file);
    expect(c).toMatchObject({ class: 'needs_consent', reason, code: body(file).error_codes?.[0] });
    expect(c.suberror).toBe(suberror);
    expect(c.confirmAfter).toBeUndefined();
  });

  it('reads interaction_required in general as needing consent, whatever the code', () => {
    expect(classify('interaction-required.json')).toMatchObject({
      class: 'needs_consent',
      reason: 'interaction_required',
      error: 'interaction_required',
    });
    expect(classifyTokenFailure(http(400, { error: 'interaction_required' }), now).class).toBe(
      'needs_consent',
    );
  });

  it.each([
    ['aadsts-90002.json', 'tenant_not_found'],
    ['aadsts-5000224.json', 'tenant_deleted'],
    ['aadsts-7000112.json', 'app_disabled'],
    ['aadsts-50034.json', 'account_not_found'],
  ])('%s means the customer is gone (%s)', (file, reason) => {
    const c = classify(file);
    expect(c).toMatchObject({ class: 'gone', reason });
    expect(c.confirmAfter).toBeUndefined();
  });

  it('believes AADSTS700016 (unauthorized_client, seen intermittently) only after a few in a row', () => {
    const c = classify('aadsts-700016.json');
    expect(c).toMatchObject({ class: 'gone', reason: 'app_not_in_tenant', error: 'unauthorized_client' });
    expect(c.confirmAfter).toBe(UNAUTHORIZED_CLIENT_CONFIRM_AFTER);
  });

  it('reads the code from error_codes first, from the description when error_codes is missing', () => {
    const { error_codes: _codes, ...noCodes } = body('aadsts-700082.json');
    expect(classifyTokenFailure(http(400, noCodes), now)).toMatchObject({
      code: 700082,
      class: 'needs_consent',
    });
  });

  it('blames our own app for the documented invalid_scope sample, not the customer', () => {
    expect(classify('token-error-with-error-uri.json')).toMatchObject({
      class: 'app_misconfigured',
      code: 70011,
    });
    expect(
      classifyTokenFailure(http(401, { error: 'invalid_client', error_codes: [7000215] }), now).class,
    ).toBe('app_misconfigured');
  });

  it('calls an unknown invalid_grant a grant only a new sign-in can replace', () => {
    expect(
      classifyTokenFailure(http(400, { error: 'invalid_grant', error_codes: [9002313] }), now),
    ).toMatchObject({
      class: 'needs_consent',
      reason: 'invalid_grant',
    });
  });
});

describe('transient failures', () => {
  it('network errors, 5xx and temporarily_unavailable', () => {
    expect(classifyTokenFailure({ kind: 'network', message: 'ECONNRESET' }, now)).toMatchObject({
      class: 'transient',
      reason: 'network',
    });
    expect(classify('temporarily-unavailable.json', 503)).toMatchObject({
      class: 'transient',
      reason: 'temporarily_unavailable',
    });
    expect(classifyTokenFailure(http(502, undefined), now)).toMatchObject({
      class: 'transient',
      reason: 'http_502',
    });
    expect(classifyTokenFailure(http(400, { error: 'temporarily_unavailable' }), now).class).toBe(
      'transient',
    );
  });

  it('429 with Retry-After in seconds (fractional) or as an HTTP date', () => {
    expect(classifyTokenFailure(http(429, undefined, '2.128'), now)).toMatchObject({
      class: 'transient',
      reason: 'throttled',
      retryAfterMs: 2128,
    });
    expect(
      classifyTokenFailure(http(429, undefined, 'Sun, 01 Mar 2026 12:00:30 GMT'), now).retryAfterMs,
    ).toBe(30_000);
    expect(classifyTokenFailure(http(503, body('temporarily-unavailable.json'), '7'), now).retryAfterMs).toBe(
      7000,
    );
  });

  it('parses Retry-After strictly', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('scope drift', () => {
  it('lists the required scopes the grant lacks, however Microsoft spells them', () => {
    expect(
      missingScopes(
        [
          'User.Read.All',
          'group.read.all',
          'Directory.Read.All',
          'TeamsUserConfiguration.Read.All',
          'user.readwrite.all',
          'TeamsTelephoneNumber.ReadWrite.All',
          'openid',
        ],
        graphScopes,
      ),
    ).toEqual([]);
    expect(missingScopes(graphScopes, graphScopes)).toEqual([]);
    expect(missingScopes(['https://graph.microsoft.com/User.Read.All', 'profile'], graphScopes)).toEqual([
      'https://graph.microsoft.com/Group.Read.All',
      'https://graph.microsoft.com/Directory.Read.All',
      'https://graph.microsoft.com/TeamsUserConfiguration.Read.All',
      'https://graph.microsoft.com/User.ReadWrite.All',
      'https://graph.microsoft.com/TeamsTelephoneNumber.ReadWrite.All',
    ]);
    expect(missingScopes([], ['openid', 'offline_access'])).toEqual([]);
  });
});

describe('what a verification does to the status', () => {
  const fail = (c: Partial<ClassifiedFailure> & Pick<ClassifiedFailure, 'class'>) => ({
    ok: false as const,
    failure: { reason: 'r', ...c },
  });
  const healthy = { status: 'healthy' as const, consecutiveTransientFailures: 0 };

  it('success heals, whatever came before', () => {
    expect(nextHealth({ status: 'gone', consecutiveTransientFailures: 4 }, { ok: true })).toEqual(healthy);
  });

  it('each failure class ends in its status', () => {
    expect(nextHealth(healthy, fail({ class: 'needs_consent' })).status).toBe('needs_consent');
    expect(nextHealth(healthy, fail({ class: 'gone' })).status).toBe('gone');
    expect(nextHealth(healthy, fail({ class: 'transient' }))).toMatchObject({
      status: 'failing',
      consecutiveTransientFailures: 1,
    });
    expect(nextHealth(healthy, fail({ class: 'app_misconfigured' }))).toMatchObject({
      status: 'failing',
      consecutiveTransientFailures: 0,
    });
  });

  it('counts transient failures, and never lets one overturn a definitive answer', () => {
    let h = nextHealth(healthy, fail({ class: 'transient' }));
    h = nextHealth(h, fail({ class: 'transient' }));
    expect(h).toMatchObject({ status: 'failing', consecutiveTransientFailures: 2 });
    const nc = nextHealth(h, fail({ class: 'needs_consent' }));
    expect(nc.consecutiveTransientFailures).toBe(0);
    expect(nextHealth(nc, fail({ class: 'transient' }))).toMatchObject({
      status: 'needs_consent',
      consecutiveTransientFailures: 1,
    });
    expect(
      nextHealth({ status: 'gone', consecutiveTransientFailures: 0 }, fail({ class: 'unknown' })).status,
    ).toBe('gone');
  });

  it('believes an intermittent "gone" after confirmAfter in a row, and forgets it when something else comes', () => {
    const suspect = fail({ class: 'gone', code: 700016, confirmAfter: 3 });
    const one = nextHealth(healthy, suspect);
    expect(one).toMatchObject({ status: 'failing', suspect: { code: 700016, count: 1 } });
    const two = nextHealth(one, suspect);
    expect(two).toMatchObject({ status: 'failing', suspect: { code: 700016, count: 2 } });
    expect(nextHealth(two, suspect).status).toBe('gone');
    const broken = nextHealth(two, fail({ class: 'transient' }));
    expect(broken.suspect).toBeUndefined();
    expect(nextHealth(broken, suspect).suspect).toEqual({ code: 700016, count: 1 });
  });
});

describe('when a rotated refresh token goes to Key Vault', () => {
  const hours = (h: number) => new Date(now.getTime() - h * 3600_000);

  it('at once when the vault holds no version we know of', () => {
    expect(vaultWriteDue({ storedAt: undefined, now })).toEqual({ write: true, reason: 'no_version' });
  });

  it('at most about once a day otherwise', () => {
    expect(vaultWriteDue({ storedAt: hours(1), now })).toEqual({ write: false, reason: 'fresh' });
    expect(vaultWriteDue({ storedAt: hours(23.9), now }).write).toBe(false);
    expect(vaultWriteDue({ storedAt: hours(24), now })).toEqual({ write: true, reason: 'stale' });
    expect(vaultWriteDue({ storedAt: hours(24 * 40), now }).write).toBe(true);
  });

  it('expires if unused 90 days after the last redemption', () => {
    expect(expiresIfUnusedBy(now).toISOString()).toBe('2026-05-30T12:00:00.000Z');
  });
});
