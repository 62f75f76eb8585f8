import { silentLog, type Log as TokenLog } from '../log';
import type { Client } from '@microsoft/microsoft-graph-client';
import { ConflictError, DependencyError, DomainError, NotFoundError } from '../errors';
import { createGraphClient, graphCall, GraphRequestError } from '../graph/client';
import { GRAPH_RESOURCE, graphScopes } from '../identity/scopes';
import { TokenRequestError, type TokenClient } from '../identity/token-client';
import type { Customer } from '../onboarding/model';
import type { CustomerService } from '../onboarding/customers';
import { REFRESH_TOKEN_CONTENT_TYPE } from '../onboarding/consent-secret';
import type { SecretStore } from '../secrets/vault';
import type { TokenHealth } from './model';
import { TOKEN_HEALTH_PARTITION, type TokenRepositories } from './repositories';
import {
  classifyTokenFailure,
  expiresIfUnusedBy,
  missingScopes,
  nextHealth,
  vaultWriteDue,
  type ClassifiedFailure,
  type VerificationOutcome,
} from './rules';
import { viewTokenHealth, type TokenHealthView } from './views';

/**
 * Token health: redeeming a customer's refresh token (for verification, replication and pushes) and
 * verifying one customer. Refresh tokens rotate on every redemption and the old one stays valid, so
 * the newest is kept in memory and written to Key Vault only when rules.ts says so (about once a
 * day); access tokens are cached in memory for their lifetime, per customer and scope, never stored.
 * Redemptions of one customer in this process run one at a time, so each uses the newest token.
 */

/** A usable access token for a customer's tenant. */
export interface CustomerAccess {
  accessToken: string;
  expiresAt: Date;
  grantedScopes: string[];
  /** Required scopes the grant lacks (scope drift); the token works for the rest. */
  missingScopes: string[];
}

/** The customer's token cannot be redeemed; `failure` says why in rules.ts's words. No token in it. */
export class TokenUnavailableError extends DomainError {
  constructor(
    readonly customerId: string,
    readonly failure: ClassifiedFailure,
  ) {
    super(
      // The customer must act (409), or we or Microsoft must (503).
      failure.class === 'needs_consent' || failure.class === 'gone' ? 409 : 503,
      'token_unavailable',
      `The token of customer '${customerId}' cannot be redeemed: ${failure.class} (${failure.reason}` +
        `${failure.code ? `, AADSTS${failure.code}` : ''}).`,
      {
        customerId,
        class: failure.class,
        reason: failure.reason,
        ...(failure.code ? { code: failure.code } : {}),
        ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
      },
    );
  }
}

export type { TokenLog };

export interface TokenService {
  /**
   * An access token for the customer's tenant: from memory while it lives, else by redeeming the
   * refresh token (which rotates it). Throws TokenUnavailableError, or DependencyError('keyVault').
   */
  redeem(customer: Customer | string, options?: { scopes?: readonly string[] }): Promise<CustomerAccess>;
  /**
   * Verifies one customer now: redeem, prove access with Graph, record the status in token health's
   * table. Key Vault unreachable: nothing is recorded and DependencyError('keyVault') is thrown.
   */
  verify(customerId: string): Promise<TokenHealthView>;
  get(customerId: string): Promise<TokenHealthView | undefined>;
  /**
   * Our access was ended on purpose (an operator, a cancellation): what this process holds in memory
   * for the customer is dropped and the row says `revoked`, until a new consent is verified.
   */
  revoked(customerId: string): Promise<void>;
  list(options?: { pageSize?: number; continuationToken?: string }): Promise<{
    items: TokenHealthView[];
    continuationToken?: string;
  }>;
}

export interface TokenServiceDeps {
  repos: TokenRepositories;
  customers: Pick<CustomerService, 'find'>;
  secrets: SecretStore;
  tokens: TokenClient;
  /** GRAPH_BASE_URL: where verification proves access. */
  graphBaseUrl: string;
  graphFor?: (accessToken: string) => Client;
  /** What the app requires of a grant (default: the Graph scopes onboarding asks for). */
  requiredScopes?: readonly string[];
  /** What a redemption asks for (default Graph's `.default`: everything consented, so drift shows). */
  requestScopes?: readonly string[];
  now?: () => Date;
  log?: TokenLog;
}

interface NewestToken {
  refreshToken: string;
  secretName: string;
  /** Which consent it descends from: a new consent replaces it. */
  consentedAt: string | undefined;
  /** When the Key Vault version we rely on was written; undefined = unknown. */
  vaultWrittenAt: Date | undefined;
}

interface Redemption extends CustomerAccess {
  redeemedAt: Date;
  latencyMs: number;
  vault: { written: boolean; version?: string; error?: DependencyError };
}

/** Access tokens are treated as expired this long before Microsoft's expiry, so none dies in flight. */
const ACCESS_TOKEN_MARGIN_MS = 5 * 60 * 1000;
const KEY_VAULT = 'keyVault';

export function createTokenService(deps: TokenServiceDeps): TokenService {
  const now = deps.now ?? (() => new Date());
  const log: TokenLog = deps.log ?? silentLog;
  const required = deps.requiredScopes ?? graphScopes;
  // `.default` asks for whatever the grant holds: a grant that lost a permission still redeems, and
  // the answer's `scope` shows what is missing (scope drift) instead of a bare refusal.
  const requested = deps.requestScopes ?? [`${GRAPH_RESOURCE}/.default`];
  const graphFor =
    deps.graphFor ??
    ((accessToken: string) =>
      createGraphClient({ baseUrl: deps.graphBaseUrl, accessToken: async () => accessToken }));
  const newest = new Map<string, NewestToken>();
  const access = new Map<string, { accessToken: string; expiresAt: Date; grantedScopes: string[] }>();
  const queue = new Map<string, Promise<unknown>>();
  const key = (id: string) => id.trim().toLowerCase();

  /** Runs one customer's redemptions one after another (each must use the token the last one got). */
  const serially = <T>(customerId: string, work: () => Promise<T>): Promise<T> => {
    const before = queue.get(customerId) ?? Promise.resolve();
    const run = before.then(work, work);
    const settled = run.catch(() => undefined);
    queue.set(customerId, settled);
    void settled.then(() => {
      if (queue.get(customerId) === settled) queue.delete(customerId);
    });
    return run;
  };

  const loadCustomer = async (customerOrId: Customer | string): Promise<Customer> => {
    const customer =
      typeof customerOrId === 'string' ? await deps.customers.find(customerOrId) : customerOrId;
    if (!customer) throw new NotFoundError('Customer', String(customerOrId));
    return customer;
  };

  const consentOf = (customer: Customer) => {
    if (
      (customer.consentState !== 'consented' && customer.consentState !== 'needs_consent') ||
      !customer.tokenSecretName ||
      !customer.tenantId
    ) {
      throw new ConflictError(`Customer '${customer.id}' has not consented; there is no token to redeem.`, {
        reason: 'not_consented',
      });
    }
    return { secretName: customer.tokenSecretName, tenantId: customer.tenantId };
  };

  const vaultError = (what: string, e: unknown): DependencyError =>
    new DependencyError(KEY_VAULT, `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });

  /** The newest refresh token we know of: memory, else the vault's version (whose age the row knows). */
  const currentToken = async (customer: Customer, secretName: string): Promise<NewestToken> => {
    const id = key(customer.id);
    const held = newest.get(id);
    if (held && held.secretName === secretName && held.consentedAt === customer.consentedAt) return held;
    let value: string | undefined;
    try {
      value = await deps.secrets.get(secretName);
    } catch (e) {
      throw vaultError('reading the refresh token', e);
    }
    if (!value) {
      throw new TokenUnavailableError(customer.id, { class: 'needs_consent', reason: 'no_refresh_token' });
    }
    const row = (await deps.repos.health.get(TOKEN_HEALTH_PARTITION, id))?.value;
    const writtenAt =
      row?.consentedAt === customer.consentedAt && row?.vaultWrittenAt
        ? row.vaultWrittenAt
        : customer.consentedAt;
    const fresh: NewestToken = {
      refreshToken: value,
      secretName,
      consentedAt: customer.consentedAt,
      vaultWrittenAt: writtenAt ? new Date(writtenAt) : undefined,
    };
    newest.set(id, fresh);
    return fresh;
  };

  /** One redemption at Microsoft: rotates the refresh token, caches the access token. */
  const rotate = (customer: Customer, scopes: readonly string[]): Promise<Redemption> =>
    serially(key(customer.id), async () => {
      const { secretName, tenantId } = consentOf(customer);
      const held = await currentToken(customer, secretName);
      const started = Date.now();
      let result;
      try {
        result = await deps.tokens.redeemRefreshToken({
          refreshToken: held.refreshToken,
          tenantId,
          scopes: [...scopes, 'offline_access'],
        });
      } catch (e) {
        if (e instanceof TokenRequestError) {
          throw new TokenUnavailableError(customer.id, classifyTokenFailure(e.failure, now()));
        }
        // The app credential lives in Key Vault too (secret or certificate).
        if (e instanceof DependencyError && /key vault/i.test(e.dependency))
          throw vaultError('app credential', e);
        throw e;
      }
      const latencyMs = Date.now() - started;
      const at = now();
      // Keep the newest: the old one stays valid at Microsoft, but we never use it again.
      if (result.refreshToken) held.refreshToken = result.refreshToken;
      const granted = result.grantedScopes;
      access.set(accessKey(customer, scopes), {
        accessToken: result.accessToken,
        expiresAt: result.expiresAt,
        grantedScopes: granted,
      });
      const vault: Redemption['vault'] = { written: false };
      const due = vaultWriteDue({ storedAt: held.vaultWrittenAt, now: at });
      if (due.write && result.refreshToken) {
        try {
          const written = await deps.secrets.set(secretName, result.refreshToken, {
            contentType: REFRESH_TOKEN_CONTENT_TYPE,
            expiresOn: expiresIfUnusedBy(at),
            tags: { customerId: customer.id, tenantId, rotatedAt: at.toISOString() },
          });
          held.vaultWrittenAt = at;
          vault.written = true;
          vault.version = written.version;
        } catch (e) {
          // The newest token stays in memory; the next redemption tries the write again.
          vault.error = vaultError('writing the rotated refresh token', e);
          log.warn('tokens.vault_write_failed', { customerId: customer.id, reason: due.reason });
        }
      }
      return {
        accessToken: result.accessToken,
        expiresAt: result.expiresAt,
        grantedScopes: granted,
        missingScopes: missingScopes(granted, expectedOf(scopes)),
        redeemedAt: at,
        latencyMs,
        vault,
      };
    });

  /** `.default` must bring everything the app requires; named scopes must come back as asked. */
  const expectedOf = (scopes: readonly string[]) =>
    scopes.some((s) => s.toLowerCase().endsWith('/.default')) ? required : scopes;

  // The consent is part of the key: after a re-consent, an access token cached from the old grant
  // (without the permissions just approved) is not used again.
  const accessKey = (customer: Pick<Customer, 'id' | 'consentedAt'>, scopes: readonly string[]) =>
    `${key(customer.id)}|${customer.consentedAt ?? ''}|${[...scopes]
      .map((s) => s.toLowerCase())
      .sort()
      .join(' ')}`;

  /** Reads, changes and writes the row with its ETag; creates it the first time. */
  const writeRow = async (
    customer: Customer,
    change: (prev: TokenHealth | undefined) => TokenHealth,
  ): Promise<TokenHealth> => {
    const id = key(customer.id);
    for (let attempt = 1; ; attempt++) {
      const current = await deps.repos.health.get(TOKEN_HEALTH_PARTITION, id);
      // Facts of an earlier consent say nothing about this one.
      const prev = current && current.value.consentedAt === customer.consentedAt ? current.value : undefined;
      const next = change(prev);
      try {
        if (!current) return (await deps.repos.health.create(next)).value;
        return (await deps.repos.health.update(next, current.etag)).value;
      } catch (e) {
        if (!(e instanceof ConflictError) || attempt >= 8) throw e;
      }
    }
  };

  /** The redemption facts, merged so that a slower writer never moves a time backwards. */
  const redemptionFacts = (prev: TokenHealth | undefined, r: Redemption) => {
    const last = latest(prev?.lastRedeemedAt, r.redeemedAt.toISOString());
    const vaultAt = r.vault.written
      ? latest(prev?.vaultWrittenAt, r.redeemedAt.toISOString())
      : prev?.vaultWrittenAt;
    return {
      lastRedeemedAt: last,
      tokenExpiresAt: expiresIfUnusedBy(new Date(last)).toISOString(),
      grantedScopes: r.grantedScopes,
      ...(vaultAt ? { vaultWrittenAt: vaultAt } : {}),
      ...(r.vault.written && r.vault.version
        ? { vaultVersion: r.vault.version }
        : prev?.vaultVersion
          ? { vaultVersion: prev.vaultVersion }
          : {}),
    };
  };

  const base = (customer: Customer, prev: TokenHealth | undefined, at: Date): TokenHealth => ({
    consecutiveTransientFailures: 0,
    grantedScopes: [],
    missingScopes: [],
    ...prev,
    customerId: customer.id,
    ...(customer.tenantId ? { tenantId: customer.tenantId } : {}),
    ...(customer.consentedAt ? { consentedAt: customer.consentedAt } : {}),
    status: prev?.status ?? 'unknown',
    updatedAt: at.toISOString(),
  });

  /** Graph answers this token for this tenant: the cheapest call that proves it. */
  const proveAccess = async (
    customer: Customer,
    accessToken: string,
  ): Promise<{ ok: true } | { ok: false; failure: ClassifiedFailure }> => {
    try {
      const org = await graphCall<{ value?: { id?: string }[] }>('the organization', () =>
        graphFor(accessToken).api('/organization').select('id').get(),
      );
      const id = org.value?.[0]?.id?.toLowerCase();
      if (id && customer.tenantId && id !== customer.tenantId.toLowerCase()) {
        return { ok: false, failure: { class: 'unknown', reason: 'tenant_mismatch' } };
      }
      return { ok: true };
    } catch (e) {
      if (e instanceof GraphRequestError) {
        const refused = e.status === 403;
        return {
          ok: false,
          failure: {
            class: refused ? 'needs_consent' : 'unknown',
            reason: refused ? 'graph_refused' : 'graph_error',
            status: e.status,
          },
        };
      }
      if (e instanceof DependencyError) {
        return { ok: false, failure: { class: 'transient', reason: 'graph_unavailable' } };
      }
      throw e;
    }
  };

  return {
    async redeem(customerOrId, options = {}) {
      const customer = await loadCustomer(customerOrId);
      const scopes = options.scopes ?? requested;
      const cached = access.get(accessKey(customer, scopes));
      if (cached && cached.expiresAt.getTime() - ACCESS_TOKEN_MARGIN_MS > now().getTime()) {
        return { ...cached, missingScopes: missingScopes(cached.grantedScopes, expectedOf(scopes)) };
      }
      const r = await rotate(customer, scopes);
      await writeRow(customer, (prev) => ({
        ...base(customer, prev, r.redeemedAt),
        ...redemptionFacts(prev, r),
      })).catch((e: unknown) =>
        // The access token is good; a lost record only makes "expires if unused by" look earlier.
        log.warn('tokens.redemption_not_recorded', {
          customerId: customer.id,
          message: e instanceof Error ? e.message : String(e),
        }),
      );
      return {
        accessToken: r.accessToken,
        expiresAt: r.expiresAt,
        grantedScopes: r.grantedScopes,
        missingScopes: r.missingScopes,
      };
    },

    async verify(customerId) {
      const customer = await loadCustomer(customerId);
      consentOf(customer);
      const started = Date.now();
      const at = now();
      let redemption: Redemption | undefined;
      let outcome: VerificationOutcome;
      let graphLatencyMs: number | undefined;
      try {
        redemption = await rotate(customer, requested);
        // The policy said the vault must have this version now and it could not be written: report the
        // vault, record nothing (the newest token is safe in memory until the next try).
        if (redemption.vault.error) throw redemption.vault.error;
        if (redemption.missingScopes.length > 0) {
          outcome = {
            ok: false,
            failure: {
              class: 'needs_consent',
              reason: 'scope_drift',
              missingScopes: redemption.missingScopes,
            },
          };
        } else {
          const graphStarted = Date.now();
          outcome = await proveAccess(customer, redemption.accessToken);
          graphLatencyMs = Date.now() - graphStarted;
        }
      } catch (e) {
        if (!(e instanceof TokenUnavailableError)) throw e;
        outcome = { ok: false, failure: e.failure };
      }
      const latencyMs = Date.now() - started;
      const row = await writeRow(customer, (prev) => {
        const b = base(customer, prev, at);
        const next = nextHealth(
          {
            status: b.status,
            consecutiveTransientFailures: b.consecutiveTransientFailures,
            suspect:
              b.suspectCode !== undefined ? { code: b.suspectCode, count: b.suspectCount ?? 0 } : undefined,
          },
          outcome,
        );
        const failure = outcome.ok ? undefined : outcome.failure;
        const {
          reason: _r,
          error: _e,
          errorCode: _c,
          suberror: _s,
          httpStatus: _h,
          suspectCode: _sc,
          suspectCount: _sn,
          retryAfter: _ra,
          ...kept
        } = b;
        return {
          ...kept,
          ...(redemption ? redemptionFacts(prev, redemption) : {}),
          status: next.status,
          consecutiveTransientFailures: next.consecutiveTransientFailures,
          ...(next.suspect ? { suspectCode: next.suspect.code, suspectCount: next.suspect.count } : {}),
          ...(next.reason ? { reason: next.reason } : {}),
          ...(failure?.error ? { error: failure.error } : {}),
          ...(failure?.code !== undefined ? { errorCode: failure.code } : {}),
          ...(failure?.suberror ? { suberror: failure.suberror } : {}),
          ...(failure?.status !== undefined ? { httpStatus: failure.status } : {}),
          ...(failure?.retryAfterMs !== undefined
            ? { retryAfter: new Date(at.getTime() + failure.retryAfterMs).toISOString() }
            : {}),
          missingScopes: failure?.missingScopes ?? [],
          lastVerifiedAt: latest(prev?.lastVerifiedAt, at.toISOString()),
          ...(outcome.ok ? { lastHealthyAt: latest(prev?.lastHealthyAt, at.toISOString()) } : {}),
          latencyMs,
          ...(redemption ? { tokenLatencyMs: redemption.latencyMs } : {}),
          ...(graphLatencyMs !== undefined ? { graphLatencyMs } : {}),
        };
      });
      log[outcome.ok ? 'info' : 'warn']('tokens.verified', {
        customerId: customer.id,
        status: row.status,
        ...(row.reason ? { reason: row.reason } : {}),
        ...(row.errorCode ? { aadsts: row.errorCode } : {}),
        latencyMs,
      });
      return viewTokenHealth(row);
    },

    async revoked(customerId) {
      const id = key(customerId);
      newest.delete(id);
      for (const k of [...access.keys()]) if (k.startsWith(`${id}|`)) access.delete(k);
      const at = now().toISOString();
      const current = await deps.repos.health.get(TOKEN_HEALTH_PARTITION, id);
      const row = {
        ...(current?.value ?? {
          customerId: id,
          grantedScopes: [],
          missingScopes: [],
          consecutiveTransientFailures: 0,
        }),
        status: 'revoked' as const,
        reason: 'revoked',
        updatedAt: at,
      };
      if (current) await deps.repos.health.update(row, current.etag);
      else await deps.repos.health.create(row);
    },

    async get(customerId) {
      const row = await deps.repos.health.get(TOKEN_HEALTH_PARTITION, key(customerId));
      return row ? viewTokenHealth(row.value) : undefined;
    },

    async list(options = {}) {
      const page = await deps.repos.health.list({
        partitionKey: TOKEN_HEALTH_PARTITION,
        pageSize: Math.min(Math.max(options.pageSize ?? 100, 1), 1000),
        ...(options.continuationToken ? { continuationToken: options.continuationToken } : {}),
      });
      return {
        items: page.items.map((s) => viewTokenHealth(s.value)),
        ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
      };
    },
  };
}

function latest(a: string | undefined, b: string): string {
  return a && a > b ? a : b;
}
