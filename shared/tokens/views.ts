import type { Customer } from '../onboarding/model';
import { z } from 'zod';
import type { TokenHealth } from './model';
import { tokenStatuses, type TokenStatus } from './rules';

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
  grantedScopes: string[];
}

export function authenticationStatusLine(
  customer: Customer,
  health: TokenHealthView | undefined,
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
    // Until a verification has redeemed it, consent time + 90 days is the best estimate there is.
    expiresIfUnusedBy: health?.expiresIfUnusedBy ?? customer.tokenExpiresAt ?? null,
    grantedScopes: health?.grantedScopes ?? [],
  };
}

/** The columns of the Authentication Status view, in order (JSON fields and CSV header alike). */
export const statusColumns = [
  'customerId',
  'customerName',
  'adminEmail',
  'method',
  'consentedBy',
  'lastVerifiedAt',
  'status',
  'reason',
  'expiresIfUnusedBy',
  'grantedScopes',
] as const satisfies readonly (keyof AuthenticationStatusLine)[];

/** One CSV field: quoted when it holds a separator, a quote or a line break; a formula's lead neutralised. */
function csvField(value: unknown): string {
  let text = Array.isArray(value)
    ? value.join(' ')
    : value === null || value === undefined
      ? ''
      : String(value);
  // A spreadsheet would run `=…`, `+…`, `-…`, `@…` as a formula: an operator's export must not.
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function statusCsv(lines: AuthenticationStatusLine[]): string {
  const rows = [
    statusColumns.join(','),
    ...lines.map((l) => statusColumns.map((c) => csvField(l[c])).join(',')),
  ];
  return `${rows.join('\r\n')}\r\n`;
}

export const authStatusQuerySchema = z.object({
  status: z.enum(tokenStatuses).optional(),
  format: z.enum(['json', 'csv']).optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).optional(),
  continuationToken: z.string().max(2000).optional(),
});

export const authStatusLineSchema = z.object({
  customerId: z.string(),
  customerName: z.string(),
  adminEmail: z.string(),
  consentedBy: z.string().nullable(),
  method: z.literal('delegated-refresh-token'),
  status: z.enum(tokenStatuses),
  reason: z.string().nullable(),
  lastVerifiedAt: z.string().nullable(),
  expiresIfUnusedBy: z.string().nullable(),
  grantedScopes: z.array(z.string()),
});

export const tokenHealthViewSchema = z.object({
  customerId: z.string(),
  tenantId: z.string().nullable(),
  status: z.enum(tokenStatuses),
  reason: z.string().nullable(),
  error: z
    .object({
      error: z.string().nullable(),
      code: z.number().int().nullable(),
      suberror: z.string().nullable(),
      httpStatus: z.number().int().nullable(),
    })
    .nullable(),
  lastVerifiedAt: z.string().nullable(),
  lastHealthyAt: z.string().nullable(),
  lastRedeemedAt: z.string().nullable(),
  expiresIfUnusedBy: z.string().nullable(),
  latencyMs: z.number().nullable(),
  grantedScopes: z.array(z.string()),
  missingScopes: z.array(z.string()),
  consecutiveTransientFailures: z.number().int(),
  retryAfter: z.string().nullable(),
});

/** What `POST /api/customers/{id}/verify` answers: the health now, and what it set in motion. */
export const verifyAnswerSchema = tokenHealthViewSchema.extend({
  actions: z.array(z.enum(['consent_lapsed', 'reinvite', 'access_lost', 'failing', 'expiring'])),
});
