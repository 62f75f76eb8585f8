import { ManagedIdentityCredential } from '@azure/identity';
import {
  ConfidentialClientApplication,
  CryptoProvider,
  ServerError,
  type Configuration,
  type ICachePlugin,
  type TokenCacheContext,
} from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveSignIn } from '../../../dev/m365/driver';
import { startM365Simulator, type M365Simulator } from '../../../dev/m365/server';
import { seedIds } from '../../../dev/m365/seed';
import { ensureDevCertificates } from '../../../dev/tls/certs';

/**
 * The real clients against the simulator: @azure/msal-node 7 (auth code + PKCE, refresh, client
 * credentials, refresh token read from its cache) and @azure/identity's ManagedIdentityCredential
 * through the App Service protocol.
 */

const REDIRECT = 'https://switchboard.test/authenticate/OAuth2Callback';
const GRAPH_SCOPES = [
  'https://graph.microsoft.com/User.Read.All',
  'https://graph.microsoft.com/Group.Read.All',
  'https://graph.microsoft.com/Directory.Read.All',
];

let sim: M365Simulator;

beforeAll(async () => {
  const certs = await ensureDevCertificates();
  sim = await startM365Simulator({ tls: { cert: certs.cert, key: certs.key }, redirectUris: [REDIRECT] });
});

afterAll(async () => {
  await sim?.stop();
});

function msal(
  overrides: Partial<Configuration['auth']> = {},
  cachePlugin?: ICachePlugin,
): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: sim.app.clientId,
      clientSecret: sim.app.clientSecret,
      authority: sim.authority('organizations'),
      knownAuthorities: [`127.0.0.1:${sim.port}`],
      ...overrides,
    },
    ...(cachePlugin ? { cache: { cachePlugin } } : {}),
  });
}

function refreshTokenIn(serialized: string): string | undefined {
  const cache = JSON.parse(serialized) as { RefreshToken?: Record<string, { secret?: string }> };
  return Object.values(cache.RefreshToken ?? {})[0]?.secret;
}

async function codeFor(app: ConfidentialClientApplication, account: string, forOrganization: boolean) {
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const url = await app.getAuthCodeUrl({
    scopes: GRAPH_SCOPES,
    redirectUri: REDIRECT,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    state: 'msal-state',
    nonce: 'msal-nonce',
    prompt: 'select_account',
  });
  expect(url.startsWith(`${sim.url}/organizations/oauth2/v2.0/authorize?`)).toBe(true);
  const walked = await driveSignIn(url, { account, consentForOrganization: forOrganization });
  const back = new URL(walked.location ?? '');
  expect(back.searchParams.get('state')).toBe('msal-state');
  return { code: back.searchParams.get('code') ?? '', verifier };
}

describe('msal-node 7', () => {
  it('runs auth code + PKCE, exposes the refresh token to a cache plugin, and refreshes with it', async () => {
    let persisted = '';
    const plugin: ICachePlugin = {
      beforeCacheAccess: async (context: TokenCacheContext) => {
        if (persisted) context.tokenCache.deserialize(persisted);
      },
      afterCacheAccess: async (context: TokenCacheContext) => {
        if (context.cacheHasChanged) persisted = context.tokenCache.serialize();
      },
    };
    const app = msal({}, plugin);
    const { code, verifier } = await codeFor(app, 'patti@contoso.com', true);
    const result = await app.acquireTokenByCode({
      code,
      codeVerifier: verifier,
      redirectUri: REDIRECT,
      scopes: GRAPH_SCOPES,
      nonce: 'msal-nonce',
    });
    expect(result.tenantId).toBe(seedIds.contoso.tenantId);
    expect(result.uniqueId).toBe(seedIds.contoso.admin);
    expect(result.account?.homeAccountId).toBe(`${seedIds.contoso.admin}.${seedIds.contoso.tenantId}`);
    expect(result.account?.username).toBe('patti@contoso.com');
    expect(result.idTokenClaims).toMatchObject({ tid: seedIds.contoso.tenantId, nonce: 'msal-nonce' });
    expect(result.scopes).toEqual(expect.arrayContaining(GRAPH_SCOPES));

    const fromPlugin = refreshTokenIn(persisted);
    const fromSerialize = refreshTokenIn(app.getTokenCache().serialize());
    expect(fromPlugin).toBeTruthy();
    expect(fromSerialize).toBe(fromPlugin);

    // A fresh app (another process, say) with only the stored refresh token.
    const later = msal({ authority: sim.authority(seedIds.contoso.tenantId) });
    // forceCache: without it msal caches nothing for an account it does not already hold.
    const refreshed = await later.acquireTokenByRefreshToken({
      refreshToken: fromPlugin ?? '',
      scopes: GRAPH_SCOPES,
      forceCache: true,
    });
    expect(refreshed?.accessToken).toBeTruthy();
    expect(refreshed?.tenantId).toBe(seedIds.contoso.tenantId);
    const rotated = refreshTokenIn(later.getTokenCache().serialize());
    expect(rotated).toBeTruthy();
    expect(rotated).not.toBe(fromPlugin);
  });

  it('reports a reused code as a ServerError with AADSTS54005', async () => {
    const app = msal();
    const { code, verifier } = await codeFor(app, 'patti@contoso.com', false);
    // msal refuses an id token nonce it was not told to expect, so the request names it.
    const request = {
      code,
      codeVerifier: verifier,
      redirectUri: REDIRECT,
      scopes: GRAPH_SCOPES,
      nonce: 'msal-nonce',
    };
    await app.acquireTokenByCode(request);
    const error = await msal()
      .acquireTokenByCode(request)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).errorCode).toBe('invalid_grant');
    expect((error as ServerError).errorMessage).toContain('AADSTS54005');
  });

  it('works from instance-discovery metadata instead of knownAuthorities', async () => {
    const endpoint = `${sim.url}/organizations/oauth2/v2.0/authorize`;
    const discovery = await (
      await fetch(
        `${sim.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(endpoint)}`,
      )
    ).text();
    const app = msal({ knownAuthorities: [], cloudDiscoveryMetadata: discovery });
    const { code, verifier } = await codeFor(app, 'patti@contoso.com', false);
    const result = await app.acquireTokenByCode({
      code,
      codeVerifier: verifier,
      redirectUri: REDIRECT,
      scopes: GRAPH_SCOPES,
      nonce: 'msal-nonce',
    });
    expect(result.accessToken).toBeTruthy();
  });

  it('gets app-only tokens with acquireTokenByClientCredential', async () => {
    sim.grantAdminConsent(seedIds.fabrikam.tenantId);
    const app = msal({ authority: sim.authority(seedIds.fabrikam.tenantId) });
    const result = await app.acquireTokenByClientCredential({
      scopes: ['https://graph.microsoft.com/.default'],
    });
    const claims = await sim.verifyAccessToken(result?.accessToken ?? '', {
      audience: 'https://graph.microsoft.com',
    });
    expect(claims).toMatchObject({ tid: seedIds.fabrikam.tenantId, idtyp: 'app' });
    expect(claims.roles).toEqual(expect.arrayContaining(['User.Read.All']));
  });
});

describe('@azure/identity ManagedIdentityCredential (App Service)', () => {
  async function withIdentityEnv<T>(header: string, fn: () => Promise<T>): Promise<T> {
    const saved = {
      IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT,
      IDENTITY_HEADER: process.env.IDENTITY_HEADER,
    };
    process.env.IDENTITY_ENDPOINT = sim.identityEndpoint;
    process.env.IDENTITY_HEADER = header;
    try {
      return await fn();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }

  it('gets a Key Vault token from the simulated IDENTITY_ENDPOINT', async () => {
    const token = await withIdentityEnv(sim.identityHeader, () =>
      new ManagedIdentityCredential().getToken('https://vault.azure.net/.default'),
    );
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3600 * 1000);
    const claims = await sim.verifyAccessToken(token.token, { audience: 'https://vault.azure.net' });
    expect(claims).toMatchObject({
      tid: seedIds.provider,
      oid: sim.managedIdentity.principalId,
      appid: sim.managedIdentity.clientId,
    });
  });

  // A wrong IDENTITY_HEADER is tested with fetch in m365.test.ts: msal caches the managed identity source
  // (endpoint and header) for the whole process, so a second credential here would reuse the first one's.
});
