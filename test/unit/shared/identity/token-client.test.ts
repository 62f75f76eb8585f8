import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import selfsigned from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { parseCertificatePem, type AppCredential } from '../../../../shared/identity/app-credential';
import { createTokenClient, TokenRequestError } from '../../../../shared/identity/token-client';

const fixtures = path.resolve(__dirname, '../../../fixtures/microsoft/tokens');
const fixture = (name: string): string => readFileSync(path.join(fixtures, name), 'utf8');
const clientId = '00001111-aaaa-2222-bbbb-3333cccc4444';
const tenantId = 'aaaabbbb-0000-cccc-1111-dddd2222eeee';

function client(credential: AppCredential, answer: () => Response | Promise<Response>) {
  const seen: { url: string; form: URLSearchParams }[] = [];
  const tokens = createTokenClient({
    authorityHost: 'https://login.microsoftonline.com/',
    clientId,
    credential: async () => credential,
    now: () => new Date('2026-03-01T12:00:00Z'),
    fetch: (async (url: string | URL | Request, init?: RequestInit) => {
      seen.push({ url: String(url), form: new URLSearchParams(String(init?.body)) });
      return answer();
    }) as typeof fetch,
  });
  return { tokens, seen };
}

const json = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { 'content-type': 'application/json', ...headers } });

describe('the token endpoint client', () => {
  it('redeems a refresh token at the customer’s tenant and reads the documented answer', async () => {
    const { tokens, seen } = client({ clientSecret: 's3cret' }, () =>
      json(200, fixture('token-refresh-success-graph.json')),
    );
    const set = await tokens.redeemRefreshToken({
      refreshToken: 'old-rt',
      tenantId,
      scopes: ['https://graph.microsoft.com/.default', 'offline_access'],
    });
    expect(seen[0]?.url).toBe(`https://login.microsoftonline.com/${tenantId}/oauth2/v2.0/token`);
    expect(Object.fromEntries(seen[0]?.form ?? [])).toEqual({
      client_id: clientId,
      grant_type: 'refresh_token',
      refresh_token: 'old-rt',
      scope: 'https://graph.microsoft.com/.default offline_access',
      client_secret: 's3cret',
    });
    expect(set.refreshToken).toBe('AwABAAAAvPM1KaPlrEqdFSBzjqfTGAMxZGUTdM0t4B4...');
    expect(set.grantedScopes).toEqual(['Mail.Read', 'User.Read']);
    expect(set.expiresAt.toISOString()).toBe('2026-03-01T12:59:59.000Z');
  });

  it('proves the app with a certificate assertion (PS256, x5t#S256, aud = the token endpoint)', async () => {
    const generated = await selfsigned.generate([{ name: 'commonName', value: 'switchboard app' }], {
      keySize: 2048,
    });
    const certificate = parseCertificatePem(`${generated.private}\n${generated.cert}`);
    const { tokens, seen } = client({ clientCertificate: certificate }, () =>
      json(200, fixture('token-success.json')),
    );
    await tokens.redeemRefreshToken({ refreshToken: 'rt', tenantId, scopes: ['offline_access'] });
    const form = seen[0]?.form;
    expect(form?.get('client_secret')).toBeNull();
    expect(form?.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = form?.get('client_assertion') ?? '';
    const header = decodeProtectedHeader(assertion);
    expect(header.alg).toBe('PS256');
    expect(header['x5t#S256']).toBe(Buffer.from(certificate.thumbprintSha256, 'hex').toString('base64url'));
    const claims = decodeJwt(assertion);
    expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: seen[0]?.url });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(600);
  });

  it('uses the managed identity’s token as a federated client assertion', async () => {
    const { tokens, seen } = client({ clientAssertion: async () => 'federated-token' }, () =>
      json(200, fixture('token-success.json')),
    );
    await tokens.redeemCode({
      code: 'c',
      codeVerifier: 'v',
      redirectUri: 'https://x/cb',
      scopes: ['openid'],
    });
    expect(seen[0]?.url).toBe('https://login.microsoftonline.com/organizations/oauth2/v2.0/token');
    expect(seen[0]?.form.get('client_assertion')).toBe('federated-token');
  });

  it('hands back Microsoft’s error body, status and Retry-After; no token in the message', async () => {
    const { tokens } = client({ clientSecret: 's3cret' }, () =>
      json(503, fixture('temporarily-unavailable.json'), { 'Retry-After': '2.5' }),
    );
    const error = await tokens
      .redeemRefreshToken({ refreshToken: 'secret-rt', tenantId, scopes: [] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRequestError);
    const failure = (error as TokenRequestError).failure;
    expect(failure).toMatchObject({ kind: 'http', status: 503, retryAfter: '2.5' });
    expect(failure.kind === 'http' && failure.body?.error_codes).toEqual([90006]);
    expect((error as Error).message).toBe(
      "Microsoft's token endpoint answered HTTP 503 temporarily_unavailable (AADSTS90006).",
    );
    expect((error as Error).message).not.toContain('secret');
  });

  it('reports an unreachable endpoint as a network failure', async () => {
    const { tokens } = client({ clientSecret: 's3cret' }, () => {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    });
    const error = await tokens
      .redeemRefreshToken({ refreshToken: 'rt', tenantId, scopes: [] })
      .catch((e: unknown) => e);
    expect((error as TokenRequestError).failure).toEqual({ kind: 'network', message: 'ECONNREFUSED' });
  });
});
