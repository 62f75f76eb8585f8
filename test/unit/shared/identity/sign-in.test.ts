import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Authority } from '../../../../shared/identity/authority';
import { createSignInClient, SignInError } from '../../../../shared/identity/sign-in';
import { createTokenClient } from '../../../../shared/identity/token-client';
import { refdata } from './refdata';

/** The authority as login.microsoftonline.com describes itself; msal is given it and needs no network. */
function authority(): Authority {
  const sample = refdata<Record<string, unknown>>('openid-configuration-sample.json');
  const value = {
    ...sample,
    issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
    authorization_endpoint: 'https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize',
    token_endpoint: 'https://login.microsoftonline.com/organizations/oauth2/v2.0/token',
    jwks_uri: 'https://login.microsoftonline.com/organizations/discovery/v2.0/keys',
    end_session_endpoint: 'https://login.microsoftonline.com/organizations/oauth2/v2.0/logout',
  };
  return {
    url: 'https://login.microsoftonline.com/organizations',
    host: 'login.microsoftonline.com',
    metadata: async () => ({ value: value as never, json: JSON.stringify(value) }),
    keys: async () => {
      throw new Error('not used');
    },
    issuerFor: async (tid) => `https://login.microsoftonline.com/${tid}/v2.0`,
  };
}

describe('the authorize URL', () => {
  it('asks the multi-tenant endpoint for a code with PKCE S256, nonce, state and our scopes', async () => {
    const client = createSignInClient({
      identity: {
        authorityHost: 'https://login.microsoftonline.com',
        clientId: '00001111-aaaa-2222-bbbb-3333cccc4444',
        credential: 'secret',
        clientSecretName: 'unused',
        certificateSecretName: 'unused',
      },
      redirectUri: 'https://switchboard.example/authenticate/OAuth2Callback',
      authority: authority(),
      credential: async () => {
        throw new Error('the authorize URL needs no credential');
      },
    });
    const url = new URL(
      await client.authorizeUrl({
        state: 'S'.repeat(43),
        nonce: 'N'.repeat(43),
        codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        prompt: 'select_account',
      }),
    );
    expect(`${url.origin}${url.pathname}`).toBe(
      'https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize',
    );
    const q = url.searchParams;
    expect(q.get('client_id')).toBe('00001111-aaaa-2222-bbbb-3333cccc4444');
    expect(q.get('response_type')).toBe('code');
    expect(q.get('response_mode')).toBe('query');
    expect(q.get('redirect_uri')).toBe('https://switchboard.example/authenticate/OAuth2Callback');
    expect(q.get('state')).toBe('S'.repeat(43));
    expect(q.get('nonce')).toBe('N'.repeat(43));
    expect(q.get('code_challenge')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('prompt')).toBe('select_account');
    expect(q.get('scope')?.split(' ').sort()).toEqual(
      [
        'openid',
        'profile',
        'offline_access',
        'https://graph.microsoft.com/User.Read.All',
        'https://graph.microsoft.com/Group.Read.All',
        'https://graph.microsoft.com/Directory.Read.All',
        'https://graph.microsoft.com/TeamsUserConfiguration.Read.All',
        'https://graph.microsoft.com/User.ReadWrite.All',
        'https://graph.microsoft.com/TeamsTelephoneNumber.ReadWrite.All',
      ].sort(),
    );
    // No secret of ours travels in the browser.
    expect(url.toString()).not.toMatch(/client_secret|code_verifier|not-used/);
  });
});

const fixtures = path.resolve(__dirname, '../../../fixtures/microsoft/tokens');
const fixture = (name: string): string => readFileSync(path.join(fixtures, name), 'utf8');

const identity = {
  authorityHost: 'https://login.microsoftonline.com',
  clientId: '00001111-aaaa-2222-bbbb-3333cccc4444',
  credential: 'secret' as const,
  clientSecretName: 'unused',
  certificateSecretName: 'unused',
};

function answering(status: number, body: string, seen: { url?: string; form?: URLSearchParams }[]) {
  return (async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), form: new URLSearchParams(String(init?.body)) });
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
}

describe('the code redemption', () => {
  it('posts the code, the PKCE verifier and the secret to the token endpoint, and keeps the refresh token', async () => {
    const seen: { url?: string; form?: URLSearchParams }[] = [];
    const client = createSignInClient({
      identity,
      redirectUri: 'https://switchboard.example/authenticate/OAuth2Callback',
      authority: authority(),
      credential: async () => ({ clientSecret: 's3cret' }),
      tokens: createTokenClient({
        authorityHost: identity.authorityHost,
        clientId: identity.clientId,
        credential: async () => ({ clientSecret: 's3cret' }),
        fetch: answering(200, fixture('token-success.json'), seen),
      }),
    });
    const tokens = await client.redeemCode({ code: 'the-code', codeVerifier: 'the-verifier', nonce: 'n' });
    expect(tokens.refreshToken).toBe('AwABAAAAvPM1KaPlrEqdFSBzjqfTGAMxZGUTdM0t4B4...');
    expect(tokens.idToken).toMatch(/^eyJ/);
    expect(seen[0]?.url).toBe('https://login.microsoftonline.com/organizations/oauth2/v2.0/token');
    const form = seen[0]?.form;
    expect(form?.get('grant_type')).toBe('authorization_code');
    expect(form?.get('code')).toBe('the-code');
    expect(form?.get('code_verifier')).toBe('the-verifier');
    expect(form?.get('client_secret')).toBe('s3cret');
    expect(form?.get('redirect_uri')).toBe('https://switchboard.example/authenticate/OAuth2Callback');
    expect(form?.get('scope')?.split(' ')).toContain('offline_access');
  });

  it('turns Microsoft’s error body into a classified SignInError', async () => {
    const client = createSignInClient({
      identity,
      redirectUri: 'https://switchboard.example/authenticate/OAuth2Callback',
      authority: authority(),
      credential: async () => ({ clientSecret: 's3cret' }),
      tokens: createTokenClient({
        authorityHost: identity.authorityHost,
        clientId: identity.clientId,
        credential: async () => ({ clientSecret: 's3cret' }),
        fetch: answering(400, fixture('token-error-with-error-uri.json'), []),
      }),
    });
    const error = await client
      .redeemCode({ code: 'c', codeVerifier: 'v', nonce: 'n' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignInError);
    expect((error as SignInError).aad).toEqual({
      kind: 'app_misconfigured',
      error: 'invalid_scope',
      code: 70011,
    });
  });
});
