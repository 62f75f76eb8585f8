import type { Customer } from '../onboarding/model';
import type { TokenHealth } from './model';
import type { TokenStatus } from './rules';

/** What operators and the API see of a customer's token: facts and times, never a token or a secret name. */
export interface TokenHealthView {
  customerId: string;
  tenantId: string | null;
  status: TokenStatus;
  reason: string | null;
  /** Microsoft's last refusal, as it named it. */
  error: {
    error: string | null;
    code: number | null;
    suberror: string | null;
    httpStatus: number | null;
  } | null;
  lastVerifiedAt: string | null;
  lastHealthyAt: string | null;
  lastRedeemedAt: string | null;
  /** The refresh token expires if unused by then (last redemption + 90 days). */
  expiresIfUnusedBy: string | null;
  latencyMs: number | null;
  grantedScopes: string[];
  missingScopes: string[];
  consecutiveTransientFailures: number;
  retryAfter: string | null;
}

export function viewTokenHealth(h: TokenHealth): TokenHealthView {
  const failed = h.error !== undefined || h.errorCode !== undefined || h.httpStatus !== undefined;
  return {
    customerId: h.customerId,
    tenantId: h.tenantId ?? null,
    status: h.status,
    reason: h.reason ?? null,
    error: failed
      ? {
          error: h.error ?? null,
          code: h.errorCode ?? null,
          suberror: h.suberror ?? null,
          httpStatus: h.httpStatus ?? null,
        }
      : null,
    lastVerifiedAt: h.lastVerifiedAt ?? null,
    lastHealthyAt: h.lastHealthyAt ?? null,
    lastRedeemedAt: h.lastRedeemedAt ?? null,
    expiresIfUnusedBy: h.tokenExpiresAt ?? null,
    latencyMs: h.latencyMs ?? null,
    grantedScopes: h.grantedScopes,
    missingScopes: h.missingScopes,
    consecutiveTransientFailures: h.consecutiveTransientFailures,
    retryAfter: h.retryAfter ?? null,
  };
}

/** One line of the operators' Authentication Status view (DESIGN.md): customer, admin, method, status, expiry. */
export interface AuthenticationStatusLine {
  customerId: string;
  customerName: string;
  adminEmail: string;
  consentedBy: string | null;
  /** How we act in the tenant: the admin's delegated grant, kept alive by its refresh token. */
  method: 'delegated-refresh-token';
  status: TokenStatus;
  reason: string | null;
  lastVerifiedAt: string | null;
  expiresIfUnusedBy: string | null;
}

export function authenticationStatusLine(
  customer: Customer,
  health: TokenHealth | undefined,
): AuthenticationStatusLine {
  return {
    customerId: customer.id,
    customerName: customer.name,
    adminEmail: customer.adminEmail,
    consentedBy: customer.consentedBy ?? null,
    method: 'delegated-refresh-token',
    status: health?.status ?? 'unknown',
    reason: health?.reason ?? null,
    lastVerifiedAt: health?.lastVerifiedAt ?? null,
    expiresIfUnusedBy: health?.tokenExpiresAt ?? customer.tokenExpiresAt ?? null,
  };
}
