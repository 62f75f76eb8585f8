import { describe, expect, it } from 'vitest';
import { codeChallengeOf, newCodeVerifier } from '../../../../shared/identity/pkce';
import { seal, unseal } from '../../../../shared/identity/seal';
import { refreshTokenSecretName } from '../../../../shared/onboarding/consent-secret';

describe('PKCE', () => {
  it('derives the S256 challenge of RFC 7636 appendix B', () => {
    expect(codeChallengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('makes 256-bit verifiers in the allowed alphabet', () => {
    const v = newCodeVerifier();
    expect(v).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newCodeVerifier()).not.toBe(v);
  });
});

describe('sealed login secrets', () => {
  it('open with the same state and row, and with nothing else', () => {
    const box = seal('state-value', 'row-hash', '{"codeVerifier":"v"}');
    expect(box).not.toContain('codeVerifier');
    expect(unseal('state-value', 'row-hash', box)).toBe('{"codeVerifier":"v"}');
    expect(unseal('other-state', 'row-hash', box)).toBeUndefined();
    expect(unseal('state-value', 'other-row', box)).toBeUndefined();
    expect(unseal('state-value', 'row-hash', `${box.slice(0, -2)}AA`)).toBeUndefined();
    expect(unseal('state-value', 'row-hash', 'short')).toBeUndefined();
  });
});

describe('refresh token secret names', () => {
  const tenant = 'ACDE3D5A-B52E-41FB-93B8-83D4502680EA';

  it('name the customer and the tenant readably', () => {
    expect(refreshTokenSecretName('Contoso-01', tenant)).toBe(
      'customer-contoso-01-acde3d5a-b52e-41fb-93b8-83d4502680ea-refresh-token',
    );
  });

  it('never give two ids, or two tenants, the same Key Vault name', () => {
    const a = refreshTokenSecretName('a_b', tenant);
    expect(a).toMatch(/^customer-a-b-[0-9a-f]{10}-acde3d5a-b52e-41fb-93b8-83d4502680ea-refresh-token$/);
    expect(a).not.toBe(refreshTokenSecretName('a-b', tenant));
    expect(refreshTokenSecretName('A_B', tenant)).toBe(a);
    expect(refreshTokenSecretName('a-b', tenant)).not.toBe(
      refreshTokenSecretName('a-b', 'da613e53-17aa-47a9-aec7-0ec07f33b9b7'),
    );
    const longest = refreshTokenSecretName(`x${'_'.repeat(39)}`, tenant);
    expect(longest).toMatch(/^[A-Za-z][A-Za-z0-9-]{0,126}$/);
  });
});
