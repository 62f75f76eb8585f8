import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@microsoft/microsoft-graph-client';
import type { LocalStack } from '../../../dev/stack';
import { waitFor } from '../../helpers/wait';
import { DependencyError } from '../../../shared/errors';
import { createAppCredentialSource } from '../../../shared/identity/app-credential';
import { graphScopes } from '../../../shared/identity/scopes';
import { createTokenClient } from '../../../shared/identity/token-client';
import { createSecretStore, type SecretStore } from '../../../shared/secrets/vault';
import type { Services } from '../../../shared/services';
import { TOKEN_HEALTH_PARTITION } from '../../../shared/tokens/repositories';
import { createTokenRepositories } from '../../../shared/tokens/repositories';
import { createTokenService, TokenUnavailableError, type TokenService } from '../../../shared/tokens/service';
import { admins, startTokenWorld, type TokenWorld } from './world';

/** Token health's redemption and verification (see world.ts for the stack it runs against). */
let world: TokenWorld;
let stack: LocalStack;
let services: Services;

beforeAll(async () => {
  world = await startTokenWorld();
  ({ stack, services } = world);
});

afterAll(async () => {
  await world?.stop();
});

const consentedCustomer = (admin: Parameters<TokenWorld['consentedCustomer']>[0]) =>
  world.consentedCustomer(admin);
/** A token service as a separate function instance would have it (its own memory), with its own clock. */
function instance(
  options: {
    now?: () => Date;
    secrets?: SecretStore;
    requiredScopes?: readonly string[];
    graphFor?: (accessToken: string) => Client;
  } = {},
): TokenService {
  const config = services.config;
  return createTokenService({
    repos: createTokenRepositories(services.storage),
    customers: services.customers,
    secrets: options.secrets ?? services.secrets,
    tokens: createTokenClient({
      authorityHost: config.identity.authorityHost,
      clientId: config.identity.clientId,
      credential: createAppCredentialSource({
        identity: config.identity,
        secrets: services.secrets,
        credential: services.credential,
      }),
    }),
    graphBaseUrl: config.graph.baseUrl,
    ...(options.now ? { now: options.now } : {}),
    ...(options.requiredScopes ? { requiredScopes: options.requiredScopes } : {}),
    ...(options.graphFor ? { graphFor: options.graphFor } : {}),
  });
}

/** The generation of the refresh token Key Vault holds for a customer. */
async function vaultGeneration(customerId: string): Promise<number | undefined> {
  const customer = await services.customers.get(customerId);
  const value = await services.secrets.get(customer.tokenSecretName ?? '');
  return value ? stack.m365.refreshTokenGeneration(value)?.generation : undefined;
}

async function row(customerId: string) {
  return (await services.tokens.get(customerId)) ?? expect.unreachable('no token health row');
}

describe('rotation', () => {
  it('uses only the newest refresh token, and writes Key Vault about once a day', async () => {
    const id = await consentedCustomer(admins.northwind);
    const tenantId = admins.northwind.tenantId;
    let clock = Date.now();
    const tokens = instance({ now: () => new Date(clock) });
    const before = stack.m365.refreshTokenUses({ tenantId }).length;

    for (let i = 0; i < 3; i++) expect((await tokens.verify(id)).status).toBe('healthy');
    const uses = stack.m365.refreshTokenUses({ tenantId }).slice(before);
    // Each redemption presented the token the previous one got, never an older one.
    expect(uses.map((u) => [u.generation, u.newestGeneration, u.outcome])).toEqual([
      [1, 1, 'issued'],
      [2, 2, 'issued'],
      [3, 3, 'issued'],
    ]);
    // The consent wrote generation 1 minutes ago: no new version yet.
    expect(await vaultGeneration(id)).toBe(1);

    // A day later the vault gets the newest.
    clock += 25 * 3600 * 1000;
    const healthy = await tokens.verify(id);
    expect(await vaultGeneration(id)).toBe(5);
    expect(healthy.lastRedeemedAt).toBe(new Date(clock).toISOString());
    expect(healthy.expiresIfUnusedBy).toBe(new Date(clock + 90 * 24 * 3600 * 1000).toISOString());

    // A fresh instance (a restart) starts from the vault's version, which is the newest.
    await instance({ now: () => new Date(clock) }).verify(id);
    const last = stack.m365.refreshTokenUses({ tenantId }).slice(-1)[0];
    expect(last).toMatchObject({ generation: 5, newestGeneration: 5, outcome: 'issued' });
  });

  it('caches the access token in memory for its lifetime, per customer and scope', async () => {
    const id = await consentedCustomer(admins.contoso);
    const tokens = instance();
    const before = stack.m365.refreshTokenUses({ tenantId: admins.contoso.tenantId }).length;
    const a = await tokens.redeem(id);
    const b = await tokens.redeem(id);
    expect(b.accessToken).toBe(a.accessToken);
    expect(a.missingScopes).toEqual([]);
    expect(stack.m365.refreshTokenUses({ tenantId: admins.contoso.tenantId }).length).toBe(before + 1);
    const other = await tokens.redeem(id, { scopes: ['https://graph.microsoft.com/User.Read.All'] });
    expect(other.accessToken).not.toBe(a.accessToken);
    expect(other.missingScopes).toEqual([]);
    const h = await row(id);
    expect(h.lastRedeemedAt).toBeTruthy();
    // Nothing secret in the table.
    const stored = await createTokenRepositories(services.storage).health.get(TOKEN_HEALTH_PARTITION, id);
    expect(JSON.stringify(stored)).not.toContain(a.accessToken);
    expect(JSON.stringify(stored)).not.toMatch(/"1\.[A-Za-z0-9_-]{40,}/);
  });
});

describe('each failure class ends in its status', () => {
  let id: string;
  const tenantId = admins.fabrikam.tenantId;
  beforeAll(async () => {
    id = await consentedCustomer(admins.fabrikam);
  });

  it.each([
    [700082, 'needs_consent', 'inactive_refresh_token'],
    [65001, 'needs_consent', 'consent_withdrawn'],
    [50076, 'needs_consent', 'mfa_required'],
    ['interaction_required', 'needs_consent', 'interaction_required'],
    [90002, 'gone', 'tenant_not_found'],
    [7000112, 'gone', 'app_disabled'],
  ] as const)('%s → %s', async (failure, status, reason) => {
    const tokens = instance();
    expect((await tokens.verify(id)).status).toBe('healthy');
    stack.m365.failTokenRequests({ failure, tenantId, times: 1 });
    const h = await tokens.verify(id);
    expect(h).toMatchObject({ status, reason, consecutiveTransientFailures: 0 });
    expect(h.error?.code).toBe(typeof failure === 'number' ? failure : 50158);
  });

  it('503 and 429 make it failing and are counted; Retry-After is kept', async () => {
    const tokens = instance();
    await tokens.verify(id);
    stack.m365.failTokenRequests({ failure: 'temporarily_unavailable', tenantId, times: 1 });
    expect(await tokens.verify(id)).toMatchObject({
      status: 'failing',
      reason: 'temporarily_unavailable',
      consecutiveTransientFailures: 1,
    });
    stack.m365.failTokenRequests({ failure: 'throttled', tenantId, times: 1, retryAfter: '30' });
    const throttled = await tokens.verify(id);
    expect(throttled).toMatchObject({
      status: 'failing',
      reason: 'throttled',
      consecutiveTransientFailures: 2,
    });
    expect(Date.parse(throttled.retryAfter ?? '')).toBeGreaterThan(Date.now() + 25_000);
    expect(await tokens.verify(id)).toMatchObject({ status: 'healthy', consecutiveTransientFailures: 0 });
  });

  it('700016 becomes gone only after three in a row', async () => {
    const tokens = instance();
    await tokens.verify(id);
    stack.m365.failTokenRequests({ failure: 700016, tenantId, times: 3 });
    expect((await tokens.verify(id)).status).toBe('failing');
    expect((await tokens.verify(id)).status).toBe('failing');
    expect(await tokens.verify(id)).toMatchObject({ status: 'gone', reason: 'app_not_in_tenant' });
    expect((await tokens.verify(id)).status).toBe('healthy');
  });

  it('a grant lacking a required scope needs consent, naming the missing scope', async () => {
    const required = [...graphScopes, 'https://graph.microsoft.com/Mail.Read'];
    const h = await instance({ requiredScopes: required }).verify(id);
    expect(h).toMatchObject({
      status: 'needs_consent',
      reason: 'scope_drift',
      missingScopes: ['https://graph.microsoft.com/Mail.Read'],
    });
  });

  it('redeem() reports a refusal as TokenUnavailableError, without the token', async () => {
    stack.m365.failTokenRequests({ failure: 50173, tenantId, times: 1 });
    const error = await instance()
      .redeem(id)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as TokenUnavailableError).failure).toMatchObject({ class: 'needs_consent', code: 50173 });
    expect((error as Error).message).not.toMatch(/1\.[A-Za-z0-9_-]{20}/);
  });
});

describe('Key Vault down', () => {
  it('changes no status and names keyVault', async () => {
    const id = await consentedCustomer(admins.northwind);
    await services.tokens.verify(id);
    stack.m365.failTokenRequests({ failure: 700082, tenantId: admins.northwind.tenantId, times: 1 });
    expect((await services.tokens.verify(id)).status).toBe('needs_consent');
    const before = await row(id);

    const dead = createSecretStore(
      { url: 'https://127.0.0.1:9', verifyChallengeResource: false },
      services.credential,
    );
    // A fresh instance must read the vault: unreachable.
    const error = await instance({ secrets: dead })
      .verify(id)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('keyVault');
    expect(await row(id)).toEqual(before);

    // An instance holding the newest token in memory, when the daily write is due and fails.
    let clock = Date.now();
    let vaultDown = false;
    const switchable: SecretStore = {
      get: (n) => (vaultDown ? dead : services.secrets).get(n),
      set: (n, v, o) => (vaultDown ? dead : services.secrets).set(n, v, o),
      remove: (n) => (vaultDown ? dead : services.secrets).remove(n),
      probe: () => (vaultDown ? dead : services.secrets).probe(),
    };
    const tokens = instance({ now: () => new Date(clock), secrets: switchable });
    expect((await tokens.verify(id)).status).toBe('healthy');
    const healthy = await row(id);
    vaultDown = true;
    // Past the daily write, whenever the vault's version was written (an earlier test moved clocks too).
    clock += 72 * 3600 * 1000;
    const failed = await tokens.verify(id).catch((e: unknown) => e);
    expect((failed as DependencyError).dependency).toBe('keyVault');
    expect(await row(id)).toEqual(healthy);
    // The rotated token was kept: once the vault is back, the next verification writes it.
    vaultDown = false;
    expect((await tokens.verify(id)).status).toBe('healthy');
    // Both redemptions of this instance presented its newest token.
    const uses = stack.m365.refreshTokenUses({ tenantId: admins.northwind.tenantId }).slice(-2);
    expect(uses.map((u) => u.generation === u.newestGeneration)).toEqual([true, true]);
  });
});

describe('two verifications of one customer at once', () => {
  it('leave one consistent row and a usable token, in one instance or two', async () => {
    const id = await consentedCustomer(admins.contoso);
    const tenantId = admins.contoso.tenantId;
    const one = instance();
    const two = instance();
    const results = await Promise.all([one.verify(id), one.verify(id), two.verify(id)]);
    expect(results.map((r) => r.status)).toEqual(['healthy', 'healthy', 'healthy']);
    const h = await row(id);
    expect(h).toMatchObject({ status: 'healthy', consecutiveTransientFailures: 0 });
    expect(h.lastVerifiedAt).toBe(
      results
        .map((r) => r.lastVerifiedAt ?? '')
        .sort()
        .slice(-1)[0],
    );

    // Failures from two instances at once are both counted (no lost update).
    stack.m365.failTokenRequests({ failure: 'temporarily_unavailable', tenantId, times: 2 });
    await Promise.all([one.verify(id), two.verify(id)]);
    expect(await row(id)).toMatchObject({ status: 'failing', consecutiveTransientFailures: 2 });

    // Whatever raced, the vault's token still works for a fresh instance.
    expect((await instance().verify(id)).status).toBe('healthy');
  });

  it('loses nothing when a worker dies mid-verification, after it rotated the token', async () => {
    const id = await consentedCustomer(admins.northwind);
    await instance().verify(id);
    const before = await row(id);
    const uses = stack.m365.refreshTokenUses({ tenantId: admins.northwind.tenantId }).length;
    // A worker whose Graph call never returns: it redeemed (the token rotated in its memory), then died.
    const hung = {
      api: () => ({ select: () => ({ get: () => new Promise(() => undefined) }) }),
    } as unknown as Client;
    void instance({ graphFor: () => hung }).verify(id);
    await waitFor(() => stack.m365.refreshTokenUses({ tenantId: admins.northwind.tenantId }).length > uses);
    // Nothing half-written: the row is as it was, and the next worker starts from the vault's token.
    expect(await row(id)).toMatchObject({ status: before.status, lastVerifiedAt: before.lastVerifiedAt });
    expect((await instance().verify(id)).status).toBe('healthy');
  });
});

describe('the simulated Microsoft as a seeding instrument', () => {
  it("issues a consent's refresh token directly, and it redeems and rotates like one from the sign-in", async () => {
    const tenant = stack.m365.portal.addTenant({ domain: 'seeded.example', users: 1 });
    const refreshToken = stack.m365.issueRefreshToken(tenant.id);
    expect(stack.m365.refreshTokenGeneration(refreshToken)).toMatchObject({ generation: 1 });
    const config = services.config;
    const client = createTokenClient({
      authorityHost: config.identity.authorityHost,
      clientId: config.identity.clientId,
      credential: createAppCredentialSource({
        identity: config.identity,
        secrets: services.secrets,
        credential: services.credential,
      }),
    });
    const set = await client.redeemRefreshToken({
      refreshToken,
      tenantId: tenant.id,
      scopes: [...graphScopes, 'offline_access'],
    });
    expect(set.accessToken).toBeTruthy();
    expect(stack.m365.refreshTokenGeneration(set.refreshToken ?? '')).toMatchObject({ generation: 2 });
  });
});
