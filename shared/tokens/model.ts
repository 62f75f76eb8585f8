import { z } from 'zod';
import { tokenStatuses } from './rules';

/**
 * Token health's own table: one row per consented customer, what the last verifications found.
 * Facts only — never a token (refresh tokens live in Key Vault, access tokens in memory). Onboarding's
 * customer row stays onboarding's: this module reads it through the customer service, never writes it.
 */
export const tokenHealthSchema = z.object({
  customerId: z.string(),
  tenantId: z.string().optional(),
  /** The consent these facts belong to (the customer's consentedAt); a new consent starts afresh. */
  consentedAt: z.string().optional(),
  status: z.enum(tokenStatuses),
  /** Why, in a short stable word (rules.ts), e.g. `inactive_refresh_token`, `scope_drift`. */
  reason: z.string().optional(),
  /** Microsoft's answer to the last failed redemption: OAuth error, AADSTS code, suberror, HTTP status. */
  error: z.string().optional(),
  errorCode: z.number().int().optional(),
  suberror: z.string().optional(),
  httpStatus: z.number().int().optional(),
  /** What the last successful redemption was granted, and what the app requires but was not granted. */
  grantedScopes: z.array(z.string()).default([]),
  missingScopes: z.array(z.string()).default([]),
  lastVerifiedAt: z.string().optional(),
  lastHealthyAt: z.string().optional(),
  /** Last successful redemption anywhere (verification, replication, pushes). */
  lastRedeemedAt: z.string().optional(),
  /** lastRedeemedAt + 90 days: the refresh token expires if unused by then. */
  tokenExpiresAt: z.string().optional(),
  /** Milliseconds of the last verification: redemption, the Graph call, both. */
  latencyMs: z.number().int().optional(),
  tokenLatencyMs: z.number().int().optional(),
  graphLatencyMs: z.number().int().optional(),
  consecutiveTransientFailures: z.number().int().default(0),
  /** An unconfirmed "gone" (700016) and how many times in a row it came. */
  suspectCode: z.number().int().optional(),
  suspectCount: z.number().int().optional(),
  /** Microsoft asked us to wait until then (Retry-After); a fan-out should skip the customer till then. */
  retryAfter: z.string().optional(),
  /** When the Key Vault version we rely on was written (by the consent or by a rotation), and its version. */
  vaultWrittenAt: z.string().optional(),
  vaultVersion: z.string().optional(),
  updatedAt: z.string(),
});
export type TokenHealth = z.infer<typeof tokenHealthSchema>;
