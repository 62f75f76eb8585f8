import { randomBytes } from 'node:crypto';
import { startLocalStack } from '../dev/stack';
import { loadConfig } from '../shared/config';
import { createAppCredentialSource } from '../shared/identity/app-credential';
import { createTokenClient } from '../shared/identity/token-client';
import { createGraphClient } from '../shared/graph/client';
import { refreshTokenSecretName } from '../shared/onboarding/consent-secret';
import { CUSTOMER_PARTITION } from '../shared/onboarding/repositories';
import type { SecretStore } from '../shared/secrets/vault';
import { createServices } from '../shared/services';
import { createTokenRepositories } from '../shared/tokens/repositories';
import { createTokenService } from '../shared/tokens/service';

/**
 * Token health: verify-all over many consented customers against the simulators with latency
 * injected on every token and Graph request, for one simulated day (a verification every six hours,
 * each round on a fresh instance, as the timer's runs would be), side by side with the naive way:
 * redeem, prove access, and write the new refresh token to Key Vault on every use.
 */
export interface TokenBenchResult {
  customers: number;
  latencyMs: number;
  rounds: number;
  days: number;
  /** Requests at Microsoft per simulated day; Key Vault versions written per customer per day. */
  ours: { firstRoundMs: number; requests: number; vaultWritesPerCustomerPerDay: number; healthy: number };
  naive: { firstRoundMs: number; requests: number; vaultWritesPerCustomerPerDay: number };
}

const HOUR = 3_600_000;

async function inParallel<T>(items: T[], limit: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function tokenBench(
  options: { customers?: number; latencyMs?: number } = {},
): Promise<TokenBenchResult> {
  const customers = options.customers ?? Number(process.env.BENCH_TOKEN_CUSTOMERS ?? 1000);
  const latencyMs = options.latencyMs ?? 30;
  // Two days of a verification every six hours: the first day after consent needs no write (the
  // consent's own version is fresh), the second shows the steady state.
  const days = 2;
  const rounds = 4 * days;
  const stack = await startLocalStack({ ports: 'free', quiet: true });
  try {
    const settings: Record<string, string> = {
      ...stack.settings,
      STORAGE_NAME_PREFIX: `b${randomBytes(4).toString('hex')}`,
    };
    process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
    process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER;
    const services = createServices(loadConfig(settings));
    const config = services.config;

    // Seed: one tenant per customer, its admin's consent as the sign-in would have left it.
    const ids: string[] = [];
    await inParallel(
      Array.from({ length: customers }, (_, i) => i),
      16,
      async (i) => {
        const tenant = stack.m365.portal.addTenant({ domain: `bench${i}.example`, users: 1 });
        const id = `bench-${i}`;
        await services.customers.create(
          { id, name: `Bench ${i}`, adminEmail: `admin@bench${i}.example` },
          'bench',
        );
        const secretName = refreshTokenSecretName(id, tenant.id);
        await services.secrets.set(secretName, stack.m365.issueRefreshToken(tenant.id));
        const at = new Date().toISOString();
        await services.onboarding.customers.mutate(CUSTOMER_PARTITION, id, (c) => ({
          ...c,
          consentState: 'consented',
          tenantId: tenant.id,
          consentedAt: at,
          tokenSecretName: secretName,
        }));
        ids.push(id);
      },
    );
    stack.m365.setLatency({ tokenMs: latencyMs, graphMs: latencyMs });

    let writes = 0;
    const counting: SecretStore = {
      ...services.secrets,
      set: (...args: Parameters<SecretStore['set']>) => {
        writes++;
        return services.secrets.set(...args);
      },
    };
    const tokenClient = createTokenClient({
      authorityHost: config.identity.authorityHost,
      clientId: config.identity.clientId,
      credential: createAppCredentialSource({
        identity: config.identity,
        secrets: services.secrets,
        credential: services.credential,
      }),
    });
    const uses = () => stack.m365.refreshTokenUses().length;
    const start = Date.now();

    // Ours: each round a fresh instance (the timer's next run), the clock six hours on.
    let firstRoundMs = 0;
    let healthy = 0;
    const usesBefore = uses();
    for (let r = 0; r < rounds; r++) {
      const tokens = createTokenService({
        repos: createTokenRepositories(services.storage),
        customers: services.customers,
        secrets: counting,
        tokens: tokenClient,
        graphBaseUrl: config.graph.baseUrl,
        now: () => new Date(start + r * 6 * HOUR),
      });
      const began = performance.now();
      healthy = 0;
      await inParallel(ids, 16, async (id) => {
        if ((await tokens.verify(id)).status === 'healthy') healthy++;
      });
      if (r === 0) firstRoundMs = performance.now() - began;
    }
    const oursWrites = writes;
    // Requests at Microsoft: one redemption and one Graph call per verification.
    const oursRequests = ((uses() - usesBefore) * 2) / days;

    // Naive: redeem, prove access, write the new refresh token back, every time.
    writes = 0;
    let naiveFirstMs = 0;
    const naiveBefore = uses();
    // One day is enough for the naive way: every use writes, whatever the day.
    for (let r = 0; r < 4; r++) {
      const began = performance.now();
      await inParallel(ids, 16, async (id) => {
        const c = await services.customers.get(id);
        const refreshToken = (await services.secrets.get(c.tokenSecretName!))!;
        const t = await tokenClient.redeemRefreshToken({
          refreshToken,
          tenantId: c.tenantId!,
          scopes: ['https://graph.microsoft.com/.default', 'offline_access'],
        });
        await createGraphClient({ baseUrl: config.graph.baseUrl, accessToken: async () => t.accessToken })
          .api('/organization')
          .select('id')
          .get();
        if (t.refreshToken) await counting.set(c.tokenSecretName!, t.refreshToken);
      });
      if (r === 0) naiveFirstMs = performance.now() - began;
    }
    return {
      customers,
      latencyMs,
      rounds,
      days,
      ours: {
        firstRoundMs,
        requests: oursRequests,
        vaultWritesPerCustomerPerDay: oursWrites / customers / days,
        healthy,
      },
      naive: {
        firstRoundMs: naiveFirstMs,
        requests: (uses() - naiveBefore) * 2,
        vaultWritesPerCustomerPerDay: writes / customers,
      },
    };
  } finally {
    await stack.stop();
  }
}
