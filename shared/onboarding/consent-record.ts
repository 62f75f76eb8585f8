import type { Config } from '../config';
import type { Mailer } from '../email/mailer';
import { ConflictError, NotFoundError } from '../errors';
import type { SecretStore } from '../secrets/vault';
import type { AuditLog } from '../storage/audit';
import type { CheckedConsent } from './consent-checks';
import { consentNotice } from './consent-notice';
import {
  consentProblem as problem,
  type ConsentDone,
  type ConsentLog,
  type Refusal,
} from './consent-outcomes';
import {
  REFRESH_TOKEN_CONTENT_TYPE,
  REFRESH_TOKEN_LIFETIME_MS,
  refreshTokenSecretName,
} from './consent-secret';
import type { InvitationService, OpenInvitation } from './invitations';
import type { Customer } from './model';
import { CUSTOMER_PARTITION, TENANT_PARTITION, type OnboardingRepositories } from './repositories';

/**
 * Stores a checked consent, in an order that keeps a failure harmless: claim the tenant (the
 * tenants table's unique key), put the refresh token in Key Vault, then record the consent on the
 * customer with its ETag (the commit point). A failure before the commit releases the claim; a
 * secret version already written is superseded by the next try. After the commit: use up the
 * invitation, audit, tell the provider; their failures are logged, never shown to the admin.
 */
export interface ConsentRecordDeps {
  config: Config;
  repos: OnboardingRepositories;
  secrets: SecretStore;
  invitations: InvitationService;
  audit: AuditLog;
  mailer: Mailer;
  /** Tells the ordering system (a signed status callback), when one is configured. */
  notifyOrderingSystem?: (
    type: string,
    data: Record<string, unknown>,
    options: { key: string; customerId: string },
  ) => Promise<unknown>;
  now: () => Date;
}

type TenantClaim = { kind: 'new'; etag: string } | { kind: 'ours' } | { kind: 'taken' };

export async function recordConsent(
  deps: ConsentRecordDeps,
  input: { opened: OpenInvitation; invitationToken: string; checked: CheckedConsent; retryPath: string },
  log: ConsentLog,
): Promise<ConsentDone | Refusal> {
  const { customer } = input.opened;
  const { admin, upn, organizationName, refreshToken } = input.checked;
  const ids = { customerId: customer.id, tenantId: admin.tenantId, objectId: admin.objectId };
  const at = now(deps);

  const claim = await claimTenant(deps, admin.tenantId, customer.id);
  if (claim.kind === 'taken')
    return { problem: problem('tenant_taken', 409, { organizationName }), fields: ids };
  const secretName = refreshTokenSecretName(customer.id, admin.tenantId);
  const expiresAt = new Date(at.getTime() + REFRESH_TOKEN_LIFETIME_MS);
  let recorded: Customer;
  try {
    await deps.secrets.set(secretName, refreshToken, {
      contentType: REFRESH_TOKEN_CONTENT_TYPE,
      expiresOn: expiresAt,
      tags: { customerId: customer.id, tenantId: admin.tenantId, consentedBy: admin.objectId },
    });
    let raced = false;
    const updated = await deps.repos.customers.mutate(CUSTOMER_PARTITION, customer.id.toLowerCase(), (c) => {
      raced = !!c.tenantId && c.tenantId.toLowerCase() !== admin.tenantId;
      if (raced) return undefined;
      return {
        ...c,
        consentState: 'consented',
        tenantId: admin.tenantId,
        consentedBy: upn,
        consentedByObjectId: admin.objectId,
        consentedAt: at.toISOString(),
        consentLapsedAt: undefined,
        tokenSecretName: secretName,
        tokenExpiresAt: expiresAt.toISOString(),
        updatedAt: at.toISOString(),
      };
    });
    if (!updated) throw new NotFoundError('Customer', customer.id);
    if (raced) {
      // Another organization's admin finished this customer's consent first: undo ours entirely.
      await deps.secrets
        .remove(secretName)
        .catch((e: unknown) => log.error('consent.secret_not_removed', { ...ids, message: message(e) }));
      await releaseTenant(deps, claim, admin.tenantId, log);
      return {
        problem: problem('wrong_tenant', 403, { retryPath: input.retryPath, organizationName }),
        fields: { ...ids, raced: true },
      };
    }
    recorded = updated.value;
  } catch (e) {
    await releaseTenant(deps, claim, admin.tenantId, log);
    throw e;
  }

  await deps.invitations
    .complete(input.invitationToken, upn)
    .catch((e: unknown) => log.warn('consent.invitation_not_completed', { ...ids, message: message(e) }));
  await deps.audit
    .record({
      actor: `customer-admin:${upn}`,
      action: 'customer.consented',
      customerId: customer.id,
      target: input.opened.invitation.id,
      details: {
        tenantId: admin.tenantId,
        organization: organizationName,
        consentedByObjectId: admin.objectId,
        roles: input.checked.roles,
        tokenSecretName: secretName,
        tokenExpiresAt: expiresAt.toISOString(),
      },
    })
    .catch((e: unknown) => log.error('consent.audit_failed', { ...ids, message: message(e) }));
  const notifyTo = deps.config.provider.notifyAddress;
  if (notifyTo) {
    const consented = {
      ...recorded,
      tenantId: admin.tenantId,
      consentedBy: upn,
      consentedAt: at.toISOString(),
    };
    await deps.mailer
      .send(consentNotice(notifyTo, deps.config.provider.name, consented, organizationName))
      .catch((e: unknown) => log.warn('consent.notice_not_sent', { ...ids, message: message(e) }));
  }
  await deps
    .notifyOrderingSystem?.(
      'customer.consented',
      { customerId: customer.id, tenantId: admin.tenantId, consentedBy: upn, consentedAt: at.toISOString() },
      { key: `${input.opened.invitation.id}:customer.consented`, customerId: customer.id },
    )
    .catch((e: unknown) => log.warn('consent.callback_not_queued', { ...ids, message: message(e) }));
  log.info('consent.recorded', { ...ids });
  return {
    kind: 'consented',
    customerName: recorded.name,
    organizationName,
    consentedBy: upn,
    consentedAt: at.toISOString(),
  };
}

const now = (deps: ConsentRecordDeps) => deps.now();
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function claimTenant(
  deps: ConsentRecordDeps,
  tenantId: string,
  customerId: string,
): Promise<TenantClaim> {
  try {
    const created = await deps.repos.tenants.create({
      tenantId,
      customerId,
      claimedAt: now(deps).toISOString(),
    });
    return { kind: 'new', etag: created.etag };
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
    const owner = await deps.repos.tenants.get(TENANT_PARTITION, tenantId);
    return owner && owner.value.customerId.toLowerCase() === customerId.toLowerCase()
      ? { kind: 'ours' }
      : { kind: 'taken' };
  }
}

/** Undoes a claim this consent made (never one an earlier consent of the customer made). */
async function releaseTenant(
  deps: ConsentRecordDeps,
  claim: TenantClaim,
  tenantId: string,
  log: ConsentLog,
): Promise<void> {
  if (claim.kind !== 'new') return;
  await deps.repos.tenants
    .delete(TENANT_PARTITION, tenantId, claim.etag)
    .catch((e: unknown) => log.error('consent.tenant_release_failed', { tenantId, message: message(e) }));
}
