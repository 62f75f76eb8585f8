import { z } from 'zod';

/**
 * Customers, their invitations and the tenants they own, as stored in Table Storage.
 * Consent state is what an operator sees: none → invited → consented, or needs_consent when a
 * token stops working and the admin must consent again.
 */
export const consentStates = ['none', 'invited', 'consented', 'needs_consent'] as const;
export type ConsentState = (typeof consentStates)[number];

export const customerStatuses = ['active', 'suspended', 'cancelled'] as const;
export type CustomerStatus = (typeof customerStatuses)[number];

export const customerSchema = z.object({
  id: z.string(),
  name: z.string(),
  adminEmail: z.string(),
  tenantDomain: z.string().optional(),
  /** The tenant we expect (given by the order) or the one that consented. */
  tenantId: z.string().optional(),
  status: z.enum(customerStatuses),
  consentState: z.enum(consentStates),
  consentedBy: z.string().optional(),
  consentedByObjectId: z.string().optional(),
  consentedAt: z.string().optional(),
  /** When token health found the consent no longer works (cleared by the next consent). */
  consentLapsedAt: z.string().optional(),
  /** Key Vault secret that holds the refresh token (a name, never the token). */
  tokenSecretName: z.string().optional(),
  tokenExpiresAt: z.string().optional(),
  /** The invitation that is still open, if any (its public id). */
  openInvitationId: z.string().optional(),
  createdAt: z.string(),
  createdBy: z.string(),
  updatedAt: z.string(),
});
export type Customer = z.infer<typeof customerSchema>;

/**
 * `sending`: recorded, its e-mail not yet confirmed (a retry asks the e-mail service what became of
 * it); `pending`: sent, not yet opened.
 */
export const invitationStatuses = [
  'sending',
  'pending',
  'opened',
  'completed',
  'expired',
  'revoked',
  'failed',
] as const;
export type InvitationStatus = (typeof invitationStatuses)[number];

export const invitationSchema = z.object({
  /** Public id, shown to operators; the link carries a separate secret whose hash is the row key. */
  id: z.string(),
  tokenHash: z.string(),
  customerId: z.string(),
  sentTo: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string(),
  status: z.enum(invitationStatuses),
  openedAt: z.string().optional(),
  completedAt: z.string().optional(),
  completedBy: z.string().optional(),
  revokedAt: z.string().optional(),
  revokedReason: z.string().optional(),
  emailOperationId: z.string().optional(),
  /** Which send attempt the e-mail operation id belongs to (a failed send is retried as the next). */
  sendAttempt: z.number().int().min(1).optional(),
});
export type Invitation = z.infer<typeof invitationSchema>;

export const tenantOwnerSchema = z.object({
  tenantId: z.string(),
  customerId: z.string(),
  claimedAt: z.string(),
});
export type TenantOwner = z.infer<typeof tenantOwnerSchema>;
