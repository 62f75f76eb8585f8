import type { TokenFailure } from '../identity/token-client';
import { GRAPH_RESOURCE } from '../identity/scopes';

/**
 * Token health's rules, pure: what Microsoft's answer means (from its error body — `error`,
 * `error_codes`, `suberror` — and the HTTP status, never from a library's error class), what a
 * verification does to a customer's status, and when a rotated refresh token must go to Key Vault.
 * Codes and their meanings: Microsoft's error-code reference (test/fixtures/microsoft/tokens).
 */

/** Microsoft's documented policy for confidential clients: 90 days of inactivity, no maximum age. */
export const REFRESH_TOKEN_INACTIVITY_MS = 90 * 24 * 3600 * 1000;
/** Key Vault is not a write-through cache: at most about one new version per customer per day. */
export const VAULT_WRITE_INTERVAL_MS = 24 * 3600 * 1000;
/** 700016 has been seen intermittently: believe "the app is gone" only after this many in a row. */
export const UNAUTHORIZED_CLIENT_CONFIRM_AFTER = 3;

export type FailureClass =
  /** Only the customer's admin can fix it, by consenting (signing in) again. */
  | 'needs_consent'
  /** The tenant, the account or our app in the tenant no longer exists: nothing to retry. */
  | 'gone'
  /** Microsoft or the network had a moment: try again later (after `retryAfterMs` when given). */
  | 'transient'
  /** Our side is wrong (credential, request): operators must fix it; says nothing about the customer. */
  | 'app_misconfigured'
  | 'unknown';

export interface ClassifiedFailure {
  class: FailureClass;
  /** A short, stable reason for operators, e.g. `inactive_refresh_token`. */
  reason: string;
  /** The OAuth error name, when Microsoft gave one. */
  error?: string;
  /** The AADSTS number, when Microsoft gave one. */
  code?: number;
  suberror?: string;
  status?: number;
  /** How long Microsoft asked us to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /** Believe this class only after this many consecutive identical failures; until then it is transient. */
  confirmAfter?: number;
  /** Scope drift: what the app requires and the grant lacks. */
  missingScopes?: string[];
}

const byCode: Record<number, { class: FailureClass; reason: string; confirmAfter?: number }> = {
  65001: { class: 'needs_consent', reason: 'consent_withdrawn' },
  50173: { class: 'needs_consent', reason: 'grant_revoked' },
  70008: { class: 'needs_consent', reason: 'grant_expired' },
  700082: { class: 'needs_consent', reason: 'inactive_refresh_token' },
  70043: { class: 'needs_consent', reason: 'sign_in_frequency' },
  53003: { class: 'needs_consent', reason: 'conditional_access' },
  50076: { class: 'needs_consent', reason: 'mfa_required' },
  50079: { class: 'needs_consent', reason: 'mfa_registration_required' },
  90002: { class: 'gone', reason: 'tenant_not_found' },
  5000224: { class: 'gone', reason: 'tenant_deleted' },
  7000112: { class: 'gone', reason: 'app_disabled' },
  50034: { class: 'gone', reason: 'account_not_found' },
  700016: {
    class: 'gone',
    reason: 'app_not_in_tenant',
    confirmAfter: UNAUTHORIZED_CLIENT_CONFIRM_AFTER,
  },
  // The app's own credential was refused: the customer's grant is not in question.
  7000215: { class: 'app_misconfigured', reason: 'app_credential_invalid' },
  7000222: { class: 'app_misconfigured', reason: 'app_credential_expired' },
  700027: { class: 'app_misconfigured', reason: 'app_credential_invalid' },
  70011: { class: 'app_misconfigured', reason: 'invalid_scope' },
};

const byError: Record<string, { class: FailureClass; reason: string }> = {
  interaction_required: { class: 'needs_consent', reason: 'interaction_required' },
  consent_required: { class: 'needs_consent', reason: 'consent_withdrawn' },
  login_required: { class: 'needs_consent', reason: 'interaction_required' },
  // An unusable grant for a reason without a code we know: only a new sign-in makes a new one.
  invalid_grant: { class: 'needs_consent', reason: 'invalid_grant' },
  temporarily_unavailable: { class: 'transient', reason: 'temporarily_unavailable' },
  server_error: { class: 'transient', reason: 'server_error' },
  invalid_client: { class: 'app_misconfigured', reason: 'app_credential_invalid' },
  unauthorized_client: { class: 'app_misconfigured', reason: 'unauthorized_client' },
  invalid_scope: { class: 'app_misconfigured', reason: 'invalid_scope' },
  invalid_request: { class: 'app_misconfigured', reason: 'invalid_request' },
  unsupported_grant_type: { class: 'app_misconfigured', reason: 'invalid_request' },
};

export function classifyTokenFailure(failure: TokenFailure, now: Date): ClassifiedFailure {
  if (failure.kind === 'network') return { class: 'transient', reason: 'network' };
  const { status, body } = failure;
  const error = body?.error?.trim().toLowerCase() || undefined;
  const code =
    body?.error_codes?.find((c) => Number.isInteger(c) && c > 0) ?? codeInText(body?.error_description);
  const facts = {
    status,
    ...(error ? { error } : {}),
    ...(code !== undefined ? { code } : {}),
    ...(body?.suberror ? { suberror: body.suberror } : {}),
  };
  const retryAfterMs = parseRetryAfter(failure.retryAfter, now);
  const wait = retryAfterMs !== undefined ? { retryAfterMs } : {};
  if (status === 429) return { class: 'transient', reason: 'throttled', ...facts, ...wait };
  const known = code !== undefined ? byCode[code] : undefined;
  if (known) return { ...known, ...facts };
  if (status >= 500) {
    return { class: 'transient', reason: error ?? `http_${status}`, ...facts, ...wait };
  }
  const named = error ? byError[error] : undefined;
  if (named) return { ...named, ...facts, ...(named.class === 'transient' ? wait : {}) };
  return { class: 'unknown', reason: error ?? `http_${status}`, ...facts };
}

function codeInText(description: string | undefined): number | undefined {
  const m = /^AADSTS(\d{4,8})/.exec(description ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * Retry-After as Microsoft sends it: delta-seconds (Graph and the identity platform send fractions,
 * e.g. `2.128`) or an HTTP date. Anything unreadable is no advice at all.
 */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at) || !/[a-z]/i.test(v)) return undefined;
  return Math.max(0, at - now.getTime());
}

const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

/** A scope as Microsoft may echo it: `https://graph.microsoft.com/User.Read.All` or `User.Read.All`. */
function scopeKey(scope: string): string {
  const s = scope.trim().toLowerCase();
  const prefix = `${GRAPH_RESOURCE.toLowerCase()}/`;
  return s.startsWith(prefix) ? s.slice(prefix.length) : s;
}

/** Scope drift: the required resource scopes the token response's `scope` does not list. */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  const have = new Set(granted.map(scopeKey));
  return required.filter((r) => !OIDC_SCOPES.has(scopeKey(r)) && !have.has(scopeKey(r)));
}

export const tokenStatuses = ['unknown', 'healthy', 'needs_consent', 'gone', 'failing', 'revoked'] as const;
export type TokenStatus = (typeof tokenStatuses)[number];

export interface HealthCounters {
  status: TokenStatus;
  consecutiveTransientFailures: number;
  /** An unconfirmed "gone" (e.g. 700016) and how many times in a row it came. */
  suspect?: { code: number; count: number } | undefined;
}

export type VerificationOutcome = { ok: true } | { ok: false; failure: ClassifiedFailure };

/**
 * What one verification does to a customer's status. A success makes it healthy. Definitive answers
 * (needs consent, gone) stand until a verification succeeds: a transient failure or our own
 * misconfiguration says nothing new about the customer, so it cannot overturn them; otherwise it makes
 * the status "failing", and transient ones are counted (for alerting and backoff).
 */
export function nextHealth(
  prev: HealthCounters,
  outcome: VerificationOutcome,
): HealthCounters & { reason?: string } {
  if (outcome.ok) return { status: 'healthy', consecutiveTransientFailures: 0 };
  const f = outcome.failure;
  const definitive = prev.status === 'needs_consent' || prev.status === 'gone';
  const undecided = (suspect?: HealthCounters['suspect']) => ({
    status: definitive ? prev.status : ('failing' as const),
    consecutiveTransientFailures: prev.consecutiveTransientFailures + 1,
    reason: f.reason,
    ...(suspect ? { suspect } : {}),
  });
  switch (f.class) {
    case 'needs_consent':
      return { status: 'needs_consent', consecutiveTransientFailures: 0, reason: f.reason };
    case 'gone': {
      if (f.confirmAfter === undefined || f.code === undefined) {
        return { status: 'gone', consecutiveTransientFailures: 0, reason: f.reason };
      }
      const count = prev.suspect?.code === f.code ? prev.suspect.count + 1 : 1;
      if (count >= f.confirmAfter)
        return { status: 'gone', consecutiveTransientFailures: 0, reason: f.reason };
      return undecided({ code: f.code, count });
    }
    case 'transient':
      return undecided();
    case 'app_misconfigured':
    case 'unknown':
      return {
        status: definitive ? prev.status : 'failing',
        consecutiveTransientFailures: prev.consecutiveTransientFailures,
        reason: f.reason,
      };
  }
}

/**
 * Whether a freshly rotated refresh token must be written to Key Vault now. Every redemption returns
 * a new refresh token and the old one stays valid, so the vault's copy need not be the newest: it
 * must only be young enough to survive a restart. Write when the vault holds no version we know of,
 * or when the one it holds is older than the interval (about once a day); otherwise keep the newest in
 * memory.
 */
export function vaultWriteDue(input: {
  /** When the version in Key Vault was written (by consent or by us); undefined = unknown. */
  storedAt: Date | undefined;
  now: Date;
  intervalMs?: number;
}): { write: boolean; reason: 'no_version' | 'stale' | 'fresh' } {
  if (!input.storedAt) return { write: true, reason: 'no_version' };
  const age = input.now.getTime() - input.storedAt.getTime();
  return age >= (input.intervalMs ?? VAULT_WRITE_INTERVAL_MS)
    ? { write: true, reason: 'stale' }
    : { write: false, reason: 'fresh' };
}

/** "Expires if unused by": the last successful redemption plus Microsoft's inactivity window. */
export function expiresIfUnusedBy(lastRedeemedAt: Date): Date {
  return new Date(lastRedeemedAt.getTime() + REFRESH_TOKEN_INACTIVITY_MS);
}
