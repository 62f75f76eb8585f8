import { createHash, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, GraphError } from '@microsoft/microsoft-graph-client';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, importPKCS8, jwtVerify, SignJWT } from 'jose';
import selfsigned from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveSignIn } from '../../../dev/m365/driver';
import { startM365Simulator, type M365Simulator, type M365SimulatorOptions } from '../../../dev/m365/server';
import { createDefaultSeed, roleTemplateIds, seedIds } from '../../../dev/m365/seed';
import { ensureDevCertificates } from '../../../dev/tls/certs';

// Microsoft's documented payloads (test/fixtures/microsoft/SOURCES.md): the simulator is judged against them.
const refdata = path.resolve(__dirname, '../../fixtures/microsoft');
const readRef = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(refdata, name), 'utf8')) as Record<string, unknown>;

const REDIRECT = 'https://switchboard.test/authenticate/OAuth2Callback';
const SCOPE =
  'https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/Group.Read.All https://graph.microsoft.com/Directory.Read.All offline_access openid profile';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DESCRIPTION = (code: number) =>
  new RegExp(
    `^AADSTS${code}: .+\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
    's',
  );

let tls: { cert: string; key: string };
const started: M365Simulator[] = [];

async function start(options: Partial<M365SimulatorOptions> = {}): Promise<M365Simulator> {
  const sim = await startM365Simulator({ tls, redirectUris: [REDIRECT], ...options });
  started.push(sim);
  return sim;
}

beforeAll(async () => {
  const certs = await ensureDevCertificates();
  tls = { cert: certs.cert, key: certs.key };
});

afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(
  sim: M365Simulator,
  params: Record<string, string | undefined> = {},
  tenant = 'organizations',
): string {
  const url = new URL(`${sim.url}/${tenant}/oauth2/v2.0/authorize`);
  const all: Record<string, string | undefined> = {
    client_id: sim.app.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT,
    response_mode: 'query',
    scope: SCOPE,
    state: 'state-123',
    nonce: 'nonce-456',
    ...params,
  };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

/** Signs in through the HTML pages and returns the authorization code and the PKCE verifier. */
async function signIn(
  sim: M365Simulator,
  account: string,
  options: { forOrganization?: boolean; scope?: string; tenant?: string; prompt?: string } = {},
): Promise<{ code: string; verifier: string; redirect: URL }> {
  const { verifier, challenge } = pkce();
  const result = await driveSignIn(
    authorizeUrl(
      sim,
      {
        code_challenge: challenge,
        code_challenge_method: 'S256',
        scope: options.scope ?? SCOPE,
        prompt: options.prompt,
      },
      options.tenant,
    ),
    { account, consentForOrganization: options.forOrganization ?? false },
  );
  expect(
    result.location,
    `sign-in stopped at ${result.stoppedAt ?? '?'}: ${result.html?.slice(0, 300) ?? ''}`,
  ).toBeDefined();
  const redirect = new URL(result.location ?? '');
  const code = redirect.searchParams.get('code');
  expect(code, redirect.toString()).toBeTruthy();
  return { code: code ?? '', verifier, redirect };
}

async function token(
  sim: M365Simulator,
  form: Record<string, string>,
  tenant = 'organizations',
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${sim.url}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

/** A client-credentials request in the provider tenant, the client proven by a JWT assertion. */
function clientCredentialsWithAssertion(sim: M365Simulator, assertion: string) {
  return token(
    sim,
    {
      client_id: sim.app.clientId,
      grant_type: 'client_credentials',
      scope: 'https://graph.microsoft.com/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    },
    seedIds.provider,
  );
}

function redeem(
  sim: M365Simulator,
  code: string,
  verifier: string,
  extra: Record<string, string> = {},
  tenant?: string,
) {
  return token(
    sim,
    {
      client_id: sim.app.clientId,
      client_secret: sim.app.clientSecret,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      scope: SCOPE,
      ...extra,
    },
    tenant,
  );
}

function refresh(sim: M365Simulator, refreshToken: string, scope = SCOPE, tenant?: string) {
  return token(
    sim,
    {
      client_id: sim.app.clientId,
      client_secret: sim.app.clientSecret,
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      scope,
    },
    tenant,
  );
}

/** The error body must have exactly the documented fields and the AADSTS description format. */
function expectAadError(
  result: { status: number; body: Record<string, unknown> },
  status: number,
  error: string,
  code: number,
) {
  expect(result.status).toBe(status);
  expect(result.body.error).toBe(error);
  expect(result.body.error_codes).toEqual([code]);
  expect(String(result.body.error_description)).toMatch(DESCRIPTION(code));
  expect(String(result.body.trace_id)).toMatch(GUID);
  expect(String(result.body.correlation_id)).toMatch(GUID);
  expect(String(result.body.timestamp)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  expect(String(result.body.error_uri)).toMatch(new RegExp(`/error\\?code=${code}$`));
  {
    const documented = Object.keys(readRef('token-error-with-error-uri.json'));
    expect(
      Object.keys(result.body)
        .filter((k) => k !== 'suberror')
        .sort(),
    ).toEqual([...documented].sort());
  }
}

const contoso = seedIds.contoso;
const fabrikam = seedIds.fabrikam;
const northwind = seedIds.northwind;

describe('discovery', () => {
  let sim: M365Simulator;
  beforeAll(async () => {
    sim = await start();
  });

  it('publishes organizations metadata with the {tenantid} issuer placeholder', async () => {
    const res = await fetch(`${sim.url}/organizations/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(`${sim.url}/{tenantid}/v2.0`);
    expect(meta.authorization_endpoint).toBe(`${sim.url}/organizations/oauth2/v2.0/authorize`);
    expect(meta.token_endpoint).toBe(`${sim.url}/organizations/oauth2/v2.0/token`);
    expect(meta.jwks_uri).toBe(`${sim.url}/organizations/discovery/v2.0/keys`);
    {
      for (const key of Object.keys(readRef('openid-configuration-sample.json')))
        expect(meta).toHaveProperty(key);
    }
  });

  it('resolves a verified domain to the tenant id, and follows the host the client used', async () => {
    const localhost = sim.url.replace('127.0.0.1', 'localhost');
    const meta = (await (
      await fetch(`${localhost}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(meta.issuer).toBe(`${localhost}/${contoso.tenantId}/v2.0`);
    expect(meta.token_endpoint).toBe(`${localhost}/${contoso.tenantId}/oauth2/v2.0/token`);
  });

  it('answers an unknown tenant with AADSTS90002', async () => {
    const res = await fetch(`${sim.url}/nosuch.onmicrosoft.com/v2.0/.well-known/openid-configuration`);
    expectAadError(
      { status: res.status, body: (await res.json()) as Record<string, unknown> },
      400,
      'invalid_tenant',
      90002,
    );
  });

  it('publishes RS256 keys whose kid is the x5t thumbprint of x5c', async () => {
    const body = (await (await fetch(`${sim.url}/common/discovery/v2.0/keys`)).json()) as {
      keys: Record<string, unknown>[];
    };
    const key = body.keys[0];
    expect(key).toMatchObject({ kty: 'RSA', use: 'sig' });
    const der = Buffer.from(String((key?.x5c as string[])[0]), 'base64');
    expect(key?.x5t).toBe(createHash('sha1').update(der).digest('base64url'));
    expect(key?.kid).toBe(key?.x5t);
  });

  it('answers instance discovery in the shape MSAL reads, and refuses foreign instances', async () => {
    const endpoint = `${sim.url}/organizations/oauth2/v2.0/authorize`;
    const res = await fetch(
      `${sim.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(endpoint)}`,
    );
    expect(await res.json()).toEqual({
      tenant_discovery_endpoint: `${sim.url}/organizations/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [
        {
          preferred_network: `127.0.0.1:${sim.port}`,
          preferred_cache: `127.0.0.1:${sim.port}`,
          aliases: [`127.0.0.1:${sim.port}`, `localhost:${sim.port}`],
        },
      ],
    });
    const foreign = await fetch(
      `${sim.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent('https://evil.example/common/oauth2/v2.0/authorize')}`,
    );
    expectAadError(
      { status: foreign.status, body: (await foreign.json()) as Record<string, unknown> },
      400,
      'invalid_instance',
      50049,
    );
  });

  it('seeds role template ids that agree with the documented ones', () => {
    const documented = readRef('directory-role-template-ids.json');
    for (const [name, id] of Object.entries(roleTemplateIds)) expect(documented[name], name).toBe(id);
  });
});

describe('authorization code flow with PKCE', () => {
  let sim: M365Simulator;
  beforeAll(async () => {
    sim = await start();
  });

  it('signs an admin in, takes consent for the organization, and redeems the code', async () => {
    const { code, verifier, redirect } = await signIn(sim, 'patti@contoso.com', { forOrganization: true });
    expect(redirect.origin + redirect.pathname).toBe(REDIRECT);
    expect(redirect.searchParams.get('state')).toBe('state-123');
    expect(redirect.searchParams.get('session_state')).toMatch(GUID);

    const result = await redeem(sim, code, verifier);
    expect(result.status).toBe(200);
    expect(result.headers.get('cache-control')).toContain('no-store');
    const documented = Object.keys(readRef('token-success-graph.json'));
    expect(Object.keys(result.body).sort()).toEqual(
      [
        ...new Set([
          ...documented,
          'token_type',
          'scope',
          'expires_in',
          'ext_expires_in',
          'access_token',
          'refresh_token',
          'id_token',
        ]),
      ].sort(),
    );
    expect(result.body.token_type).toBe('Bearer');
    expect(String(result.body.scope).split(' ')).toEqual(
      expect.arrayContaining([
        'https://graph.microsoft.com/User.Read.All',
        'https://graph.microsoft.com/Directory.Read.All',
      ]),
    );

    const idToken = String(result.body.id_token);
    expect(decodeProtectedHeader(idToken)).toMatchObject({ typ: 'JWT', alg: 'RS256' });
    const jwks = createRemoteJWKSet(new URL(`${sim.url}/organizations/discovery/v2.0/keys`));
    const { payload } = await jwtVerify(idToken, jwks, {
      audience: sim.app.clientId,
      issuer: `${sim.url}/${contoso.tenantId}/v2.0`,
    });
    expect(payload).toMatchObject({
      ver: '2.0',
      tid: contoso.tenantId,
      oid: contoso.admin,
      nonce: 'nonce-456',
      name: 'Patti Fernandez',
      preferred_username: 'patti@contoso.com',
    });
    {
      for (const claim of [
        'ver',
        'iss',
        'sub',
        'aud',
        'exp',
        'iat',
        'nbf',
        'name',
        'preferred_username',
        'oid',
        'tid',
        'nonce',
      ]) {
        expect(Object.keys(readRef('id-token-v2-claims.json'))).toContain(claim);
        expect(payload).toHaveProperty(claim);
      }
    }

    const access = decodeJwt(String(result.body.access_token));
    expect(access).toMatchObject({
      aud: 'https://graph.microsoft.com',
      tid: contoso.tenantId,
      oid: contoso.admin,
      appid: sim.app.clientId,
    });
    expect(String(access.scp).split(' ')).toEqual(
      expect.arrayContaining(['User.Read.All', 'Group.Read.All', 'Directory.Read.All']),
    );
    await expect(
      sim.verifyAccessToken(String(result.body.access_token), { audience: 'https://graph.microsoft.com' }),
    ).resolves.toBeTruthy();
  });

  it('refuses a second redemption of the same code with AADSTS54005', async () => {
    const { code, verifier } = await signIn(sim, 'patti@contoso.com');
    expect((await redeem(sim, code, verifier)).status).toBe(200);
    const correlation = randomUUID();
    const again = await token(
      sim,
      {
        client_id: sim.app.clientId,
        client_secret: sim.app.clientSecret,
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      },
      'organizations',
      { 'client-request-id': correlation },
    );
    expectAadError(again, 400, 'invalid_grant', 54005);
    expect(again.body.correlation_id).toBe(correlation);
  });

  it('refuses a wrong PKCE verifier with AADSTS50148', async () => {
    const { code } = await signIn(sim, 'patti@contoso.com');
    expectAadError(await redeem(sim, code, pkce().verifier), 400, 'invalid_grant', 50148);
    expectAadError(await redeem(sim, code, ''), 400, 'invalid_grant', 50148);
  });

  it('lets a code expire after ten minutes (AADSTS70008)', async () => {
    const local = await start();
    local.grantAdminConsent(contoso.tenantId);
    const { code, verifier } = await signIn(local, 'patti@contoso.com');
    local.advanceClock(601);
    expectAadError(await redeem(local, code, verifier), 400, 'invalid_grant', 70008);
  });

  it('checks redirect_uri and the tenant at redemption', async () => {
    const { code, verifier } = await signIn(sim, 'patti@contoso.com');
    expectAadError(
      await redeem(sim, code, verifier, { redirect_uri: 'https://other.test/cb' }),
      401,
      'invalid_client',
      50011,
    );
    expectAadError(await redeem(sim, code, verifier, {}, fabrikam.tenantId), 400, 'invalid_grant', 700005);
    expect((await redeem(sim, code, verifier, {}, contoso.tenantId)).status).toBe(200);
  });

  it('authenticates the client: wrong secret, missing secret, HTTP Basic', async () => {
    const { code, verifier } = await signIn(sim, 'patti@contoso.com');
    expectAadError(
      await redeem(sim, code, verifier, { client_secret: 'wrong' }),
      401,
      'invalid_client',
      7000215,
    );
    const withoutSecret = await token(sim, {
      client_id: sim.app.clientId,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    expectAadError(withoutSecret, 401, 'invalid_client', 7000218);
    const basic = Buffer.from(
      `${encodeURIComponent(sim.app.clientId)}:${encodeURIComponent(sim.app.clientSecret)}`,
    ).toString('base64');
    const ok = await token(
      sim,
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
      'organizations',
      {
        Authorization: `Basic ${basic}`,
      },
    );
    expect(ok.status).toBe(200);
  });

  it('redirects back with access_denied when the admin cancels consent', async () => {
    const local = await start();
    const result = await driveSignIn(authorizeUrl(local), {
      account: 'nestor@northwindtraders.com',
      consent: 'cancel',
    });
    const back = new URL(result.location ?? '');
    expect(back.origin + back.pathname).toBe(REDIRECT);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_subcode')).toBe('cancel');
    expect(back.searchParams.get('state')).toBe('state-123');
    expect(back.searchParams.get('error_description')).toMatch(DESCRIPTION(65004));
    expect(back.searchParams.get('error_description')).toMatch(
      /^AADSTS65004: User declined to consent to access the app\./,
    );
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('never redirects to an unregistered URI or for an unknown client', async () => {
    const bad = await fetch(authorizeUrl(sim, { redirect_uri: 'https://evil.example/cb' }), {
      redirect: 'manual',
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('location')).toBeNull();
    expect(await bad.text()).toContain('AADSTS50011');
    const unknown = await fetch(authorizeUrl(sim, { client_id: randomUUID() }), { redirect: 'manual' });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('AADSTS700016');
  });

  it('redirects other request errors with error, error_description and state', async () => {
    const noScope = await fetch(authorizeUrl(sim, { scope: '' }), { redirect: 'manual' });
    const back = new URL(noScope.headers.get('location') ?? '');
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/^AADSTS900144: .*'scope'/);
    expect(back.searchParams.get('state')).toBe('state-123');
    const token = await fetch(authorizeUrl(sim, { response_type: 'token' }), { redirect: 'manual' });
    expect(new URL(token.headers.get('location') ?? '').searchParams.get('error')).toBe(
      'unsupported_response_type',
    );
    const silent = await fetch(authorizeUrl(sim, { prompt: 'none' }), { redirect: 'manual' });
    expect(new URL(silent.headers.get('location') ?? '').searchParams.get('error')).toBe('login_required');
    const badScope = await fetch(authorizeUrl(sim, { scope: 'openid https://foo.microsoft.com/mail.read' }), {
      redirect: 'manual',
    });
    expect(new URL(badScope.headers.get('location') ?? '').searchParams.get('error_description')).toMatch(
      /^AADSTS70011: /,
    );
    const shortChallenge = await fetch(
      authorizeUrl(sim, { code_challenge: 'abc', code_challenge_method: 'S256' }),
      { redirect: 'manual' },
    );
    expect(new URL(shortChallenge.headers.get('location') ?? '').searchParams.get('error')).toBe(
      'invalid_request',
    );
  });

  it('accepts a plain code challenge', async () => {
    const verifier = randomBytes(40).toString('base64url');
    const result = await driveSignIn(
      authorizeUrl(sim, { code_challenge: verifier, code_challenge_method: 'plain' }),
      { account: 'patti@contoso.com' },
    );
    const code = new URL(result.location ?? '').searchParams.get('code') ?? '';
    expect((await redeem(sim, code, verifier)).status).toBe(200);
  });

  it('shows "Need admin approval" to a user who cannot grant admin-only permissions', async () => {
    const local = await start();
    const result = await driveSignIn(authorizeUrl(local), { account: 'johanna@fabrikam.com' });
    expect(result.stoppedAt).toBe('need-admin-approval');
    // The Teams Communications Administrator cannot grant tenant-wide consent either.
    expect((await driveSignIn(authorizeUrl(local), { account: 'grady@fabrikam.com' })).stoppedAt).toBe(
      'need-admin-approval',
    );
    // Once the Global Administrator consented for the organization, nobody sees a consent page.
    await signIn(local, 'isaiah@fabrikam.com', { forOrganization: true });
    const after = await driveSignIn(authorizeUrl(local), { account: 'johanna@fabrikam.com' });
    expect(after.pages).toEqual(['Pick an account']);
    expect(new URL(after.location ?? '').searchParams.get('code')).toBeTruthy();
  });

  it('lists only the named tenant’s accounts for a tenant-specific authority, and honours prompt=consent', async () => {
    const res = await fetch(authorizeUrl(sim, {}, northwind.tenantId));
    const html = await res.text();
    expect(html).toContain('aria-label="nestor@northwindtraders.com"');
    expect(html).not.toContain('patti@contoso.com');
    const consentAgain = await driveSignIn(authorizeUrl(sim, { prompt: 'consent' }), {
      account: 'patti@contoso.com',
    });
    expect(consentAgain.pages).toEqual(['Pick an account', 'Permissions requested']);
  });

  it('supports response_mode=form_post with a plain form', async () => {
    const result = await driveSignIn(authorizeUrl(sim, { response_mode: 'form_post' }), {
      account: 'patti@contoso.com',
    });
    expect(result.stoppedAt).toBe('form-post');
    expect(result.formPost?.action).toBe(REDIRECT);
    expect(result.formPost?.fields.code).toBeTruthy();
    expect(result.formPost?.fields.state).toBe('state-123');
  });

  it('lets guests and disabled users sign in (the app must refuse them), with their real identity in the token', async () => {
    const local = await start();
    local.grantAdminConsent(fabrikam.tenantId);
    const guest = await signIn(local, 'alex_contoso.com#EXT#@fabrikam.onmicrosoft.com');
    const tokens = await redeem(local, guest.code, guest.verifier);
    const claims = decodeJwt(String(tokens.body.id_token));
    expect(claims).toMatchObject({
      tid: fabrikam.tenantId,
      oid: fabrikam.guest,
      idp: `https://sts.windows.net/${contoso.tenantId}/`,
    });
    local.setUserEnabled(fabrikam.tenantId, fabrikam.user, false);
    const disabled = await signIn(local, 'johanna@fabrikam.com');
    const disabledTokens = await redeem(local, disabled.code, disabled.verifier);
    expect(disabledTokens.status).toBe(200);
    expectAadError(
      await refresh(local, String(disabledTokens.body.refresh_token)),
      400,
      'invalid_grant',
      50057,
    );
  });

  it('escapes what it renders', async () => {
    const seed = createDefaultSeed([REDIRECT]);
    const user = seed.tenants[1]?.users[2];
    if (user) user.displayName = '<script>alert("x")</script> & co';
    const local = await start({ seed });
    const html = await (await fetch(authorizeUrl(local))).text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co');
    const index = await (await fetch(`${local.url}/`)).text();
    expect(index).not.toContain('<script>');
    expect(index).toContain('patti@contoso.com');
  });
});

describe('refresh tokens', () => {
  let sim: M365Simulator;
  let first: string;
  beforeAll(async () => {
    sim = await start();
    const { code, verifier } = await signIn(sim, 'patti@contoso.com', { forOrganization: true });
    first = String((await redeem(sim, code, verifier)).body.refresh_token);
  });

  it('returns a new refresh token each time and keeps the old one valid', async () => {
    const a = await refresh(sim, first);
    expect(a.status).toBe(200);
    const second = String(a.body.refresh_token);
    expect(second).not.toBe(first);
    expect(a.body.id_token).toBeTruthy();
    const b = await refresh(sim, first);
    expect(b.status).toBe(200);
    expect((await refresh(sim, second)).status).toBe(200);
  });

  it('gives no refresh token without offline_access and no id token without openid', async () => {
    const { code, verifier } = await signIn(sim, 'patti@contoso.com', {
      scope: 'https://graph.microsoft.com/User.Read.All',
    });
    const result = await redeem(sim, code, verifier, { scope: 'https://graph.microsoft.com/User.Read.All' });
    expect(result.status).toBe(200);
    expect(result.body).not.toHaveProperty('refresh_token');
    expect(result.body).not.toHaveProperty('id_token');
    expect(result.body.scope).toBe('https://graph.microsoft.com/User.Read.All');
  });

  it('refuses garbage and scopes that were never consented', async () => {
    expectAadError(await refresh(sim, 'not-a-token'), 400, 'invalid_grant', 9002313);
    const r = await refresh(sim, first, 'https://graph.microsoft.com/User.ReadWrite.All offline_access');
    expectAadError(r, 400, 'invalid_grant', 65001);
    expect(r.body.suberror).toBe('consent_required');
  });

  it('fails after "revoke sessions" with AADSTS50173, and a new sign-in works again', async () => {
    const local = await start();
    const { code, verifier } = await signIn(local, 'nestor@northwindtraders.com', { forOrganization: true });
    const rt = String((await redeem(local, code, verifier)).body.refresh_token);
    local.revokeRefreshTokens(northwind.tenantId, northwind.admin);
    expectAadError(await refresh(local, rt), 400, 'invalid_grant', 50173);
    const again = await signIn(local, 'nestor@northwindtraders.com');
    const rt2 = String((await redeem(local, again.code, again.verifier)).body.refresh_token);
    expect((await refresh(local, rt2)).status).toBe(200);
  });

  it('expires by inactivity after 90 days (AADSTS700082), or when told to', async () => {
    const local = await start();
    const { code, verifier } = await signIn(local, 'nestor@northwindtraders.com', { forOrganization: true });
    const rt = String((await redeem(local, code, verifier)).body.refresh_token);
    const rt2 = String((await refresh(local, rt)).body.refresh_token);
    local.expireRefreshToken(rt2, 70008);
    expectAadError(await refresh(local, rt2), 400, 'invalid_grant', 70008);
    local.advanceClock(89 * 24 * 3600);
    const fresh = await refresh(local, rt);
    expect(fresh.status).toBe(200);
    local.advanceClock(91 * 24 * 3600);
    const expired = await refresh(local, String(fresh.body.refresh_token));
    expectAadError(expired, 400, 'invalid_grant', 700082);
    expect(String(expired.body.error_description)).toContain('was inactive for 90.00:00:00');
  });

  it('fails when consent is withdrawn (65001) or the app is deleted from the tenant (700016)', async () => {
    const local = await start();
    const { code, verifier } = await signIn(local, 'nestor@northwindtraders.com', { forOrganization: true });
    const rt = String((await redeem(local, code, verifier)).body.refresh_token);
    local.removeConsent(northwind.tenantId);
    const withdrawn = await refresh(local, rt);
    expectAadError(withdrawn, 400, 'invalid_grant', 65001);
    local.removeConsent(northwind.tenantId, { deleteServicePrincipal: true });
    expectAadError(await refresh(local, rt), 400, 'unauthorized_client', 700016);
  });

  it('keeps refresh tokens and the signing key across a restart with a data file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'm365-sim-'));
    try {
      const dataFile = path.join(dir, 'm365.json');
      const one = await startM365Simulator({ tls, redirectUris: [REDIRECT], dataFile });
      const { code, verifier } = await signIn(one, 'patti@contoso.com', { forOrganization: true });
      const tokens = await redeem(one, code, verifier);
      await one.stop();
      const two = await startM365Simulator({ tls, redirectUris: [REDIRECT], dataFile });
      try {
        expect((await refresh(two, String(tokens.body.refresh_token))).status).toBe(200);
        await expect(two.verifyAccessToken(String(tokens.body.access_token))).resolves.toMatchObject({
          tid: contoso.tenantId,
        });
      } finally {
        await two.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const tokenFixtures = path.resolve(__dirname, '../../fixtures/microsoft/tokens');
const tokenFixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(tokenFixtures, name), 'utf8')) as Record<string, unknown>;

describe('failures a test imposes on refresh tokens', () => {
  let sim: M365Simulator;
  let rt: string;
  beforeAll(async () => {
    sim = await start();
    const { code, verifier } = await signIn(sim, 'nestor@northwindtraders.com', { forOrganization: true });
    rt = String((await redeem(sim, code, verifier)).body.refresh_token);
  });

  it.each([
    [65001, 'aadsts-65001.json'],
    [50173, 'aadsts-50173.json'],
    [70008, 'aadsts-70008.json'],
    [700082, 'aadsts-700082.json'],
    [70043, 'aadsts-70043.json'],
    [53003, 'aadsts-53003.json'],
    [50076, 'aadsts-50076.json'],
    [50079, 'aadsts-50079.json'],
    [90002, 'aadsts-90002.json'],
    [5000224, 'aadsts-5000224.json'],
    [7000112, 'aadsts-7000112.json'],
    [50034, 'aadsts-50034.json'],
    [700016, 'aadsts-700016.json'],
    ['interaction_required', 'interaction-required.json'],
  ] as const)('answers %s with the documented body', async (failure, file) => {
    const documented = tokenFixture(file);
    const code = (documented.error_codes as number[])[0] ?? 0;
    sim.failTokenRequests({ failure, tenantId: northwind.tenantId, times: 1 });
    const answer = await refresh(sim, rt);
    expectAadError(answer, 400, String(documented.error), code);
    expect(answer.body.suberror).toBe(documented.suberror);
    // Used up: the same token works again, and only that tenant was affected.
    expect((await refresh(sim, rt)).status).toBe(200);
  });

  it('fails transiently with 503 temporarily_unavailable, and throttles with 429 and Retry-After', async () => {
    sim.failTokenRequests({ failure: 'temporarily_unavailable', times: 2 });
    const down = await refresh(sim, rt);
    expectAadError(down, 503, 'temporarily_unavailable', 90006);
    expect((await refresh(sim, rt)).status).toBe(503);
    expect((await refresh(sim, rt)).status).toBe(200);

    sim.failTokenRequests({ failure: 'throttled', retryAfter: '2.5' });
    const throttled = await refresh(sim, rt);
    expectAadError(throttled, 429, 'temporarily_unavailable', 90055);
    expect(throttled.headers.get('retry-after')).toBe('2.5');
    const date = new Date(Date.now() + 60_000).toUTCString();
    sim.clearTokenFailures();
    sim.failTokenRequests({ failure: 'throttled', retryAfter: date, times: 1 });
    expect((await refresh(sim, rt)).headers.get('retry-after')).toBe(date);
    expect((await refresh(sim, rt)).status).toBe(200);
  });

  it('fails only the named tenant', async () => {
    const { code, verifier } = await signIn(sim, 'patti@contoso.com', { forOrganization: true });
    const contosoRt = String((await redeem(sim, code, verifier)).body.refresh_token);
    sim.failTokenRequests({ failure: 700082, tenantId: northwind.tenantId });
    expect((await refresh(sim, contosoRt)).status).toBe(200);
    expect((await refresh(sim, rt)).status).toBe(400);
    sim.clearTokenFailures();
    expect((await refresh(sim, rt)).status).toBe(200);
  });

  it('tells which generation of a refresh token family was presented', async () => {
    const local = await start();
    const { code, verifier } = await signIn(local, 'isaiah@fabrikam.com', { forOrganization: true });
    const first = String((await redeem(local, code, verifier)).body.refresh_token);
    const second = String((await refresh(local, first)).body.refresh_token);
    const third = String((await refresh(local, second)).body.refresh_token);
    const family = local.refreshTokenGeneration(first)?.familyId;
    expect(local.refreshTokenGeneration(second)).toEqual({ familyId: family, generation: 2 });
    expect(local.refreshTokenGeneration(third)).toEqual({ familyId: family, generation: 3 });
    expect(local.refreshTokenGeneration('not-issued-here')).toBeUndefined();
    // The old one still works (Microsoft does not revoke it), and the log shows it was stale.
    expect((await refresh(local, first)).status).toBe(200);
    const uses = local.refreshTokenUses({ tenantId: fabrikam.tenantId });
    expect(uses.map((u) => [u.generation, u.newestGeneration, u.outcome])).toEqual([
      [1, 1, 'issued'],
      [2, 2, 'issued'],
      [1, 3, 'issued'],
    ]);
    expect(new Set(uses.map((u) => u.familyId))).toEqual(new Set([family]));
  });

  it('delays answers by the latency a test injects', async () => {
    const local = await start();
    local.setLatency({ tokenMs: 300 });
    const started = Date.now();
    const answer = await refresh(local, 'not-a-token');
    expect(answer.status).toBe(400);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    local.setLatency({ tokenMs: 0 });
  });
});

describe('client credentials', () => {
  let sim: M365Simulator;
  beforeAll(async () => {
    sim = await start();
  });
  const cc = (tenant: string, scope: string, extra: Record<string, string> = {}) =>
    token(
      sim,
      {
        client_id: sim.app.clientId,
        client_secret: sim.app.clientSecret,
        grant_type: 'client_credentials',
        scope,
        ...extra,
      },
      tenant,
    );

  it('issues app-only Graph tokens with the consented application permissions', async () => {
    expectAadError(
      await cc(northwind.tenantId, 'https://graph.microsoft.com/.default'),
      400,
      'unauthorized_client',
      700016,
    );
    sim.grantAdminConsent(northwind.tenantId, {
      applicationPermissions: ['User.Read.All', 'Directory.Read.All'],
    });
    const ok = await cc(northwind.tenantId, 'https://graph.microsoft.com/.default');
    expect(ok.status).toBe(200);
    const documented = Object.keys(readRef('token-success-client-credentials.json'));
    expect(Object.keys(ok.body).sort()).toEqual(
      [...new Set([...documented, 'token_type', 'expires_in', 'ext_expires_in', 'access_token'])].sort(),
    );
    const claims = decodeJwt(String(ok.body.access_token));
    expect(claims).toMatchObject({
      aud: 'https://graph.microsoft.com',
      tid: northwind.tenantId,
      appid: sim.app.clientId,
      idtyp: 'app',
    });
    expect(claims.roles).toEqual(['User.Read.All', 'Directory.Read.All']);
    expect(claims).not.toHaveProperty('scp');
  });

  it('needs a tenant and a /.default scope for a known resource', async () => {
    expectAadError(
      await cc('common', 'https://graph.microsoft.com/.default'),
      400,
      'invalid_request',
      9001023,
    );
    expectAadError(
      await cc('organizations', 'https://graph.microsoft.com/.default'),
      400,
      'invalid_request',
      50059,
    );
    expectAadError(
      await cc(seedIds.provider, 'https://graph.microsoft.com/User.Read.All'),
      400,
      'invalid_scope',
      1002012,
    );
    expectAadError(
      await cc(seedIds.provider, 'https://nothing.example/.default'),
      400,
      'invalid_resource',
      500011,
    );
    expectAadError(await cc(seedIds.provider, ''), 400, 'invalid_request', 900144);
    const vault = await cc(seedIds.provider, 'https://vault.azure.net/.default');
    expect(decodeJwt(String(vault.body.access_token)).aud).toBe('https://vault.azure.net');
  });

  it('accepts the managed identity’s token as a federated client assertion', async () => {
    const mi = await fetch(
      `${sim.identityEndpoint}?resource=api://AzureADTokenExchange&api-version=2019-08-01`,
      {
        headers: { 'X-IDENTITY-HEADER': sim.identityHeader },
      },
    );
    const assertion = String(((await mi.json()) as Record<string, unknown>).access_token);
    const withAssertion = (a: string) => clientCredentialsWithAssertion(sim, a);
    const ok = await withAssertion(assertion);
    expect(ok.status).toBe(200);
    expect(decodeJwt(String(ok.body.access_token)).appidacr).toBe('2');
    const other = await sim.issueAccessToken({
      tenantId: seedIds.provider,
      audience: 'api://AzureADTokenExchange',
    });
    expectAadError(await withAssertion(other), 401, 'invalid_client', 700213);
  });
});

describe('certificate credentials', () => {
  it('accepts an assertion signed with a registered certificate it names by thumbprint, and no other', async () => {
    const cert = await selfsigned.generate([{ name: 'commonName', value: 'Switchboard app' }], {
      keySize: 2048,
      algorithm: 'sha256',
    });
    const seed = createDefaultSeed([REDIRECT]);
    seed.apps[0]!.certificates = [cert.cert];
    const sim = await start({ seed });
    const der = new X509Certificate(cert.cert).raw;
    const key = await importPKCS8(cert.private, 'PS256');
    const endpoint = `${sim.url}/${seedIds.provider}/oauth2/v2.0/token`;
    const assertion = (header: Record<string, string>) =>
      new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'PS256', typ: 'JWT', ...header })
        .setIssuer(sim.app.clientId)
        .setSubject(sim.app.clientId)
        .setAudience(endpoint)
        .setNotBefore('0s')
        .setExpirationTime('5m')
        .sign(key);
    const withAssertion = (a: string) => clientCredentialsWithAssertion(sim, a);
    const s256 = createHash('sha256').update(der).digest('base64url');
    const sha1 = createHash('sha1').update(der).digest('base64url');
    expect((await withAssertion(await assertion({ 'x5t#S256': s256 }))).status).toBe(200);
    expect((await withAssertion(await assertion({ x5t: sha1 }))).status).toBe(200);
    const unknown = createHash('sha256').update('another certificate').digest('base64url');
    expectAadError(
      await withAssertion(await assertion({ 'x5t#S256': unknown })),
      401,
      'invalid_client',
      700027,
    );
    expectAadError(await withAssertion(await assertion({})), 401, 'invalid_client', 700027);
  });
});

describe('managed identity endpoint', () => {
  it('returns the documented App Service body and checks X-IDENTITY-HEADER', async () => {
    const sim = await start({ identityHeader: 'expected-header' });
    const url = `${sim.identityEndpoint}?resource=${encodeURIComponent('https://vault.azure.net')}&api-version=2019-08-01`;
    const res = await fetch(url, { headers: { 'X-IDENTITY-HEADER': 'expected-header' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([
      'access_token',
      'client_id',
      'expires_on',
      'resource',
      'token_type',
    ]);
    expect(body).toMatchObject({
      resource: 'https://vault.azure.net',
      token_type: 'Bearer',
      client_id: sim.managedIdentity.clientId,
    });
    expect(String(body.expires_on)).toMatch(/^\d+$/);
    const claims = await sim.verifyAccessToken(String(body.access_token), {
      audience: 'https://vault.azure.net',
    });
    expect(claims).toMatchObject({ tid: seedIds.provider, oid: sim.managedIdentity.principalId });
    expect(claims.exp).toBe(Number(body.expires_on));
    expect((await fetch(url, { headers: { 'X-IDENTITY-HEADER': 'wrong' } })).status).toBe(401);
    expect((await fetch(url)).status).toBe(401);
    expect(
      (
        await fetch(url.replace('2019-08-01', '2017-09-01'), {
          headers: { 'X-IDENTITY-HEADER': 'expected-header' },
        })
      ).status,
    ).toBe(400);
  });
});

describe('Microsoft Graph', () => {
  let sim: M365Simulator;
  let adminToken: string;
  beforeAll(async () => {
    sim = await start();
    const { code, verifier } = await signIn(sim, 'patti@contoso.com', { forOrganization: true });
    adminToken = String((await redeem(sim, code, verifier)).body.access_token);
  });
  const client = (accessToken: string | undefined, customHosts = ['127.0.0.1']) =>
    Client.initWithMiddleware({
      authProvider: { getAccessToken: async () => accessToken ?? '' },
      baseUrl: sim.graphBaseUrl,
      defaultVersion: 'v1.0',
      customHosts: new Set(customHosts),
    });

  it('answers /me like the documented response', async () => {
    const me = (await client(adminToken).api('/me').get()) as Record<string, unknown>;
    expect(me['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#users/$entity`);
    expect(me).toMatchObject({
      id: contoso.admin,
      displayName: 'Patti Fernandez',
      userPrincipalName: 'patti@contoso.com',
    });
    expect(Object.keys(me).sort()).toEqual(Object.keys(readRef('graph-me-response.json')).sort());
  });

  it('answers /organization with verified domains', async () => {
    const org = (await client(adminToken).api('/organization').get()) as { value: Record<string, unknown>[] };
    expect(org.value).toHaveLength(1);
    expect(org.value[0]).toMatchObject({ id: contoso.tenantId, displayName: 'Contoso', tenantType: 'AAD' });
    expect(org.value[0]?.verifiedDomains).toContainEqual(
      expect.objectContaining({
        name: 'contoso.onmicrosoft.com',
        isInitial: true,
        isDefault: false,
        type: 'Managed',
      }),
    );
  });

  it('lists directory roles through transitiveMemberOf', async () => {
    const roles = (await client(adminToken)
      .api('/me/transitiveMemberOf/microsoft.graph.directoryRole')
      .get()) as {
      '@odata.context': string;
      value: Record<string, unknown>[];
    };
    expect(roles['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#directoryRoles`);
    expect(roles.value.map((r) => r.roleTemplateId)).toEqual([roleTemplateIds['Global Administrator']]);
    expect(roles.value[0]).toMatchObject({
      '@odata.type': '#microsoft.graph.directoryRole',
      displayName: 'Global Administrator',
    });
    expect(roles.value[0]?.id).toMatch(GUID);
    const lynne = await sim.issueAccessToken({
      tenantId: contoso.tenantId,
      userId: contoso.teamsAdmin,
      scopes: ['User.Read'],
    });
    const hers = (await client(lynne).api('/me/transitiveMemberOf/microsoft.graph.directoryRole').get()) as {
      value: { roleTemplateId: string }[];
    };
    expect(hers.value.map((r) => r.roleTemplateId)).toEqual([
      roleTemplateIds['Teams Communications Administrator'],
    ]);
    const alex = await sim.issueAccessToken({
      tenantId: contoso.tenantId,
      userId: contoso.user,
      scopes: ['User.Read'],
    });
    expect(
      (
        (await client(alex).api('/me/transitiveMemberOf/microsoft.graph.directoryRole').get()) as {
          value: unknown[];
        }
      ).value,
    ).toEqual([]);
  });

  it('reads a user by id or UPN with $select', async () => {
    const user = (await client(adminToken)
      .api(`/users/${contoso.guest}`)
      .select(['id', 'userType', 'accountEnabled'])
      .get()) as Record<string, unknown>;
    expect(user).toEqual({
      '@odata.context': `${sim.url}/v1.0/$metadata#users(id,userType,accountEnabled)/$entity`,
      id: contoso.guest,
      userType: 'Guest',
      accountEnabled: true,
    });
    const byUpn = (await client(adminToken).api('/users/lynne@contoso.com').get()) as Record<string, unknown>;
    expect(byUpn.id).toBe(contoso.teamsAdmin);
  });

  async function graphError(call: () => Promise<unknown>): Promise<GraphError> {
    try {
      await call();
    } catch (e) {
      if (e instanceof GraphError) return e;
      throw e;
    }
    throw new Error('expected a Graph error');
  }

  it('answers errors in Graph’s shape: 401, 403, 404', async () => {
    const noToken = await graphError(() => client(undefined).api('/me').get());
    expect(noToken.statusCode).toBe(401);
    expect(noToken.code).toBe('InvalidAuthenticationToken');
    // The SDK silently sends no Authorization header to a host missing from customHosts.
    expect((await graphError(() => client(adminToken, []).api('/me').get())).statusCode).toBe(401);

    const userRead = await sim.issueAccessToken({
      tenantId: contoso.tenantId,
      userId: contoso.user,
      scopes: ['User.Read'],
    });
    const forbidden = await graphError(() => client(userRead).api(`/users/${contoso.admin}`).get());
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.code).toBe('Authorization_RequestDenied');

    const missing = await graphError(() => client(adminToken).api(`/users/${randomUUID()}`).get());
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('Request_ResourceNotFound');

    const raw = await fetch(`${sim.url}/v1.0/users/${randomUUID()}`, {
      headers: { Authorization: `Bearer ${adminToken}` },
    });
    const body = (await raw.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error)).toEqual(['code', 'message', 'innerError']);
    expect(Object.keys(body.error.innerError as object)).toEqual(['date', 'request-id', 'client-request-id']);
  });

  it('refuses tokens that are expired, for another audience, or not its own', async () => {
    const local = await start();
    const fresh = await local.issueAccessToken({
      tenantId: contoso.tenantId,
      userId: contoso.admin,
      scopes: ['User.Read'],
    });
    const vault = await local.issueAccessToken({
      tenantId: contoso.tenantId,
      audience: 'https://vault.azure.net',
    });
    const foreign = await sim.issueAccessToken({
      tenantId: contoso.tenantId,
      userId: contoso.admin,
      scopes: ['User.Read'],
    });
    const get = async (t: string) => {
      const res = await fetch(`${local.url}/v1.0/me`, { headers: { Authorization: `Bearer ${t}` } });
      return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
    };
    expect((await get(fresh)).status).toBe(200);
    expect((await get(vault)).body.error.message).toContain('Invalid audience');
    expect((await get(foreign)).status).toBe(401);
    expect((await get('garbage')).body.error.code).toBe('InvalidAuthenticationToken');
    local.advanceClock(3600);
    const expired = await get(fresh);
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toContain('expired');
  });

  it('serves the userinfo endpoint of the metadata with the id token’s subject', async () => {
    const meta = (await (
      await fetch(`${sim.url}/organizations/v2.0/.well-known/openid-configuration`)
    ).json()) as {
      userinfo_endpoint: string;
    };
    const { code, verifier } = await signIn(sim, 'patti@contoso.com');
    const tokens = await redeem(sim, code, verifier);
    const res = await fetch(meta.userinfo_endpoint, {
      headers: { Authorization: `Bearer ${String(tokens.body.access_token)}` },
    });
    expect(res.status).toBe(200);
    const info = (await res.json()) as Record<string, unknown>;
    expect(info).toMatchObject({ name: 'Patti Fernandez', given_name: 'Patti', family_name: 'Fernandez' });
    expect(info.sub).toBe(decodeJwt(String(tokens.body.id_token)).sub);
  });

  it('serves app-only callers, but not /me', async () => {
    const app = await sim.issueAccessToken({ tenantId: contoso.tenantId, roles: ['User.Read.All'] });
    const user = (await client(app).api(`/users/${contoso.user}`).get()) as Record<string, unknown>;
    expect(user.userPrincipalName).toBe('alex@contoso.com');
    expect((await graphError(() => client(app).api('/me').get())).statusCode).toBe(400);
    const none = await sim.issueAccessToken({ tenantId: contoso.tenantId, roles: [] });
    expect((await graphError(() => client(none).api('/organization').get())).statusCode).toBe(403);
  });
});
