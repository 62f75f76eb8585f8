import type { RequestedPermission } from '../identity/scopes';

/**
 * What the consent steps can end in, in the provider's words. The service decides; the pages only
 * render. Each refusal names why, the HTTP status it is shown with, and, when the invitation can
 * still be used, the path that starts over.
 */
export type ConsentProblemReason =
  /** The link names no invitation we know. */
  | 'invitation_not_found'
  /** The invitation was used, expired, replaced or withdrawn (`message` says which). */
  | 'invitation_gone'
  /** The customer's service was cancelled. */
  | 'customer_closed'
  /** The sign-in came back with a state we never issued or already used. */
  | 'state_unknown'
  | 'state_expired'
  /** The sign-in finished in another browser than the one that started it. */
  | 'other_browser'
  /** The admin cancelled at Microsoft or declined the permissions. */
  | 'cancelled'
  /** Microsoft wants an administrator to approve the app first. */
  | 'consent_required'
  | 'account_not_allowed'
  /** Conditional Access or an MFA requirement stopped the sign-in. */
  | 'blocked'
  /** The sign-in could not be completed or verified; starting again helps. */
  | 'signin_failed'
  /** The admin signed in to another organization than the customer's. */
  | 'wrong_tenant'
  /** This organization is already connected to another of the provider's customers. */
  | 'tenant_taken'
  | 'not_admin'
  | 'guest'
  /** Microsoft granted the sign-in but not lasting access (no refresh token). */
  | 'no_lasting_access'
  /** Microsoft 365 refused to show us what the check needs with this account. */
  | 'directory_refused';

export interface ConsentProblem {
  kind: 'problem';
  reason: ConsentProblemReason;
  status: number;
  /** Extra words for the reason, when the service has them (e.g. why an invitation is gone). */
  message?: string;
  /** `/authenticate/<token>` when the invitation can still be used. */
  retryPath?: string;
  /** Names for the page: the roles that would do, the organization signed in to. */
  acceptedRoles?: string[];
  organizationName?: string;
}

export function consentProblem(
  reason: ConsentProblemReason,
  status: number,
  extra: Omit<ConsentProblem, 'kind' | 'reason' | 'status'> = {},
): ConsentProblem {
  return { kind: 'problem', reason, status, ...extra };
}

/** A refusal and what to log about it (ids and reasons, never a token). */
export interface Refusal {
  problem: ConsentProblem;
  fields: Record<string, unknown>;
}

/** Where the admin starts over: the invitation page. */
export const invitationPath = (token: string): string => `/authenticate/${encodeURIComponent(token)}`;

/** Consent logs through the app's one log shape. */
export type { Log as ConsentLog } from '../log';

export interface InvitationPageModel {
  kind: 'invitation';
  token: string;
  customerName: string;
  sentTo: string;
  expiresAt: string;
  acceptedRoles: string[];
  permissions: RequestedPermission[];
  /** Scopes (of `permissions`) a re-consent adds to what the organization granted before. */
  newPermissions: string[];
}

export interface StartRedirect {
  kind: 'redirect';
  location: string;
  /** The browser key cookie's value (see login-state). */
  browserKey: string;
  expiresAt: Date;
}

export interface ConsentDone {
  kind: 'consented';
  customerName: string;
  organizationName: string;
  consentedBy: string;
  consentedAt: string;
}
