import { describe, expect, it } from 'vitest';
import { aadstsCode, classifyAadError } from '../../../../shared/identity/aadsts';
import { refdata } from './refdata';

describe('classifyAadError', () => {
  it('reads the cancel subcode of a declined sign-in (MSAL.NET test string)', () => {
    const q = new URL('https://example.com?error=access_denied&error_subcode=cancel').searchParams;
    expect(
      classifyAadError({ error: q.get('error') ?? '', subError: q.get('error_subcode') ?? undefined }),
    ).toEqual({ kind: 'cancelled', error: 'access_denied', code: undefined });
  });

  it('treats a plain access_denied (the documented redirect) as cancelled', () => {
    expect(
      classifyAadError({ error: 'access_denied', description: 'the user canceled the authentication' }).kind,
    ).toBe('cancelled');
  });

  it('reads AADSTS65004 from the description of an admin-consent refusal', () => {
    const description =
      'AADSTS65004: The resource owner or authorization server denied the request.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333';
    expect(classifyAadError({ error: 'consent_required', description })).toEqual({
      kind: 'cancelled',
      error: 'consent_required',
      code: 65004,
    });
  });

  it('prefers error_codes of a token endpoint body', () => {
    expect(aadstsCode({ codes: [700082], description: 'AADSTS54005: x' })).toBe(700082);
    expect(classifyAadError({ error: 'invalid_grant', codes: [700082] }).kind).toBe('grant_expired');
    expect(classifyAadError({ error: 'invalid_grant', codes: ['50173'] }).kind).toBe('grant_expired');
    expect(classifyAadError({ error: 'invalid_client', codes: [7000222] }).kind).toBe('app_misconfigured');
    expect(classifyAadError({ error: 'invalid_grant', codes: [53003] }).kind).toBe('blocked');
    expect(classifyAadError({ error: 'unauthorized_client', codes: [700016] }).kind).toBe(
      'app_not_in_tenant',
    );
    expect(classifyAadError({ error: 'invalid_grant', codes: [65001] }).kind).toBe('consent_required');
  });

  it('calls a 5xx or temporarily_unavailable temporary, and anything else unknown', () => {
    expect(classifyAadError({ error: 'temporarily_unavailable' }).kind).toBe('temporary');
    expect(classifyAadError({ error: 'whatever', status: 503 }).kind).toBe('temporary');
    expect(classifyAadError({ error: 'whatever' }).kind).toBe('unknown');
    expect(classifyAadError({}).error).toBe('unknown');
  });

  it('classifies every code of the reference table (none falls through to unknown)', () => {
    const codes = Object.keys(refdata<Record<string, string>>('aadsts-codes.json'));
    for (const key of codes) {
      const code = Number(key.replace('AADSTS', ''));
      const { kind } = classifyAadError({ error: 'invalid_request', codes: [code] });
      expect(kind, key).not.toBe('unknown');
    }
  });
});
