import type { Client } from '@microsoft/microsoft-graph-client';
import type { Config } from '../config';
import type { Mailer } from '../email/mailer';
import { ConflictError, DependencyError, GoneError, NotFoundError } from '../errors';
import { createGraphClient, GraphRequestError } from '../graph/client';
import {
  getMe,
  getMyDirectoryRoleTemplateIds,
  getOrganization,
  type GraphOrganization,
  type GraphUser,
} from '../graph/directory';
import { classifyAadError } from '../identity/aadsts';
import type { Authority } from '../identity/authority';
import { IdTokenError, verifyIdToken } from '../identity/id-token';
import type { Login, LoginStateStore } from '../identity/login-state';
import { roleName } from '../identity/roles';
import { graphPermissions } from '../identity/scopes';
import { SignInError, type RedeemedTokens, type SignInClient } from '../identity/sign-in';
import type { SecretStore } from '../secrets/vault';
import type { AuditLog } from '../storage/audit';
import { consentNotice } from './consent-notice';
import type {
  ConsentDone,
  ConsentProblem,
  ConsentProblemReason,
  InvitationPageModel,
  StartRedirect,
} from './consent-outcomes';
import {
  REFRESH_TOKEN_CONTENT_TYPE,
  REFRESH_TOKEN_LIFETIME_MS,
  refreshTokenSecretName,
} from './consent-secret';
import type { InvitationSettingsService } from './invitation-settings';
import type { InvitationService, OpenInvitation } from './invitations';
import type { Customer } from './model';
import { CUSTOMER_PARTITION, TENANT_PARTITION, type OnboardingRepositories } from './repositories';

/**
 * A customer's admin connects their Microsoft 365 organization: the invitation page, the start of
 * the sign-in, and the return from Microsoft. The return checks everything before it stores
 * anything: the one-time state (consumed first, so it cannot be replayed), Microsoft's answer, the
 * id token, the organization (the customer's, and no other customer's), the admin (a member, not a
 * guest, holding an accepted role) and that Graph answers with the new token. Only then: claim the
 * tenant, put the refresh token in Key Vault, record the consent on the customer (the commit
 * point), use up the invitation, audit, tell the provider.
 */
export type ConsentLog = (level: 'information' | 'warning' | 'error', event: Record<string, unknown>) => void;

export interface ConsentService {
  /** The provider's name as the invitation e-mail gave it (invitation settings). */
  providerName(): Promise<string>;
  invitationPage(token: string): Promise<InvitationPageModel | ConsentProblem>;
  start(token: string, log?: ConsentLog): Promise<StartRedirect | ConsentProblem>;
  callback(
    query: Record<string, string | undefined>,
    browserKey: string | undefined,
    log?: ConsentLog,
  ): Promise<ConsentDone | ConsentProblem>;
}

export interface ConsentDeps {
  config: Config;
  repos: OnboardingRepositories;
  invitations: InvitationService;
  settings: InvitationSettingsService;
  logins: LoginStateStore;
  signIn: SignInClient;
  authority: Authority;
  secrets: SecretStore;
  audit: AuditLog;
  mailer: Mailer;
  graphFor?: (accessToken: string) => Client;
  now?: () => Date;
}

type TenantClaim = { kind: 'new'; etag: string } | { kind: 'ours' } | { kind: 'taken' };

const problem = (
  reason: ConsentProblemReason,
  status: number,
  extra: Omit<ConsentProblem, 'kind' | 'reason' | 'status'> = {},
): ConsentProblem => ({ kind: 'problem', reason, status, ...extra });

export const invitationPath = (token: string): string => `/authenticate/${encodeURIComponent(token)}`;

export function createConsentService(deps: ConsentDeps): ConsentService {
  const now = deps.now ?? (() => new Date());
  const acceptedRoleIds = deps.config.consent.adminRoleIds.map((r) => r.toLowerCase());
  const acceptedRoles = acceptedRoleIds.map(roleName);
  const graphFor =
    deps.graphFor ??
    ((accessToken: string) =>
      createGraphClient({ baseUrl: deps.config.graph.baseUrl, accessToken: async () => accessToken }));
  const noLog: ConsentLog = () => undefined;

  /** The invitation and its customer, or the problem that makes it unusable. */
  const openInvitation = async (token: string): Promise<OpenInvitation | ConsentProblem> => {
    try {
      const opened = await deps.invitations.open(token);
      if (opened.customer.status === 'cancelled') return problem('customer_closed', 410);
      return opened;
    } catch (e) {
      if (e instanceof NotFoundError) return problem('invitation_not_found', 404);
      if (e instanceof GoneError) return problem('invitation_gone', 410, { message: e.message });
      throw e;
    }
  };

  const retryPathFor = async (token: string): Promise<string | undefined> => {
    const opened = await openInvitation(token).catch(() => undefined);
    return opened && !('kind' in opened) ? invitationPath(token) : undefined;
  };

  return {
    async providerName() {
      return (await deps.settings.get().catch(() => undefined))?.providerName ?? deps.config.provider.name;
    },

    async invitationPage(token) {
      const opened = await openInvitation(token);
      if ('kind' in opened) return opened;
      return {
        kind: 'invitation',
        token,
        customerName: opened.customer.name,
        sentTo: opened.invitation.sentTo,
        expiresAt: opened.invitation.expiresAt,
        acceptedRoles,
        permissions: [...graphPermissions],
      };
    },

    async start(token, log = noLog) {
      const opened = await openInvitation(token);
      if ('kind' in opened) return opened;
      const started = await deps.logins.create({ customerId: opened.customer.id, invitationToken: token });
      const location = await deps.signIn.authorizeUrl({
        state: started.state,
        nonce: started.nonce,
        codeChallenge: started.codeChallenge,
        prompt: deps.config.consent.prompt,
      });
      // Abandoned sign-ins leave rows behind; each start sweeps a few.
      await deps.logins.purgeExpired(20).catch(() => 0);
      log('information', {
        event: 'consent.started',
        customerId: opened.customer.id,
        invitationId: opened.invitation.id,
      });
      return { kind: 'redirect', location, browserKey: started.browserKey, expiresAt: started.expiresAt };
    },

    async callback(query, browserKey, log = noLog) {
      const refuse = (p: ConsentProblem, fields: Record<string, unknown> = {}): ConsentProblem => {
        log('warning', { event: 'consent.refused', reason: p.reason, status: p.status, ...fields });
        return p;
      };
      const state = query.state ?? '';
      const consumed = await deps.logins.consume(state, browserKey);
      if (consumed.status === 'unknown') return refuse(problem('state_unknown', 400));
      const login = consumed.login;
      const ids = { customerId: login.customerId };
      if (consumed.status === 'expired') {
        return refuse(
          problem('state_expired', 400, { retryPath: await retryPathFor(login.invitationToken) }),
          ids,
        );
      }
      if (consumed.status === 'other_browser') {
        return refuse(
          problem('other_browser', 400, { retryPath: await retryPathFor(login.invitationToken) }),
          ids,
        );
      }

      if (query.error) {
        const p = await fromSignInError(
          new SignInError(
            classifyAadError({
              error: query.error,
              description: query.error_description,
              subError: query.error_subcode,
            }),
          ),
          login,
        );
        return refuse(p, { ...ids, error: query.error, subError: query.error_subcode });
      }
      if (!query.code)
        return refuse(
          problem('signin_failed', 400, { retryPath: await retryPathFor(login.invitationToken) }),
          ids,
        );

      const opened = await openInvitation(login.invitationToken);
      if ('kind' in opened) return refuse(opened, ids);
      const customer = opened.customer;
      if (customer.id.toLowerCase() !== login.customerId.toLowerCase())
        return refuse(problem('state_unknown', 400), ids);
      const retryPath = invitationPath(login.invitationToken);

      let tokens: RedeemedTokens;
      try {
        tokens = await deps.signIn.redeemCode({
          code: query.code,
          codeVerifier: login.codeVerifier,
          nonce: login.nonce,
        });
      } catch (e) {
        if (e instanceof SignInError) {
          return refuse(await fromSignInError(e, login), { ...ids, error: e.aad.error, aadsts: e.aad.code });
        }
        throw e;
      }

      let admin;
      try {
        admin = await verifyIdToken(tokens.idToken, {
          authority: deps.authority,
          clientId: deps.config.identity.clientId,
          nonce: login.nonce,
        });
      } catch (e) {
        if (e instanceof IdTokenError) {
          return refuse(problem('signin_failed', 400, { retryPath }), { ...ids, idToken: e.reason });
        }
        throw e;
      }
      const tenantIds = { ...ids, tenantId: admin.tenantId };

      // What Microsoft says about the organization and the admin, with the new token.
      const graph = graphFor(tokens.accessToken);
      let org: GraphOrganization;
      let me: GraphUser;
      let roleIds: string[];
      try {
        org = await getOrganization(graph);
        me = await getMe(graph);
        roleIds = await getMyDirectoryRoleTemplateIds(graph);
      } catch (e) {
        if (e instanceof GraphRequestError && (e.status === 401 || e.status === 403)) {
          return refuse(problem('directory_refused', 403, { retryPath }), {
            ...tenantIds,
            graphStatus: e.status,
            graphCode: e.code,
          });
        }
        throw e;
      }
      if (org.id.toLowerCase() !== admin.tenantId || me.id.toLowerCase() !== admin.objectId) {
        return refuse(problem('signin_failed', 400, { retryPath }), {
          ...tenantIds,
          graph: 'token mismatch',
        });
      }
      const organizationName =
        org.displayName || org.verifiedDomains.find((d) => d.isDefault)?.name || admin.tenantId;
      if (!belongsToCustomer(customer, admin.tenantId, org)) {
        return refuse(problem('wrong_tenant', 403, { retryPath, organizationName }), tenantIds);
      }
      const owner = await deps.repos.tenants.get(TENANT_PARTITION, admin.tenantId);
      if (owner && owner.value.customerId.toLowerCase() !== customer.id.toLowerCase()) {
        return refuse(problem('tenant_taken', 409, { organizationName }), {
          ...tenantIds,
          ownedBy: owner.value.customerId,
        });
      }
      if (me.accountEnabled === false) {
        return refuse(problem('account_not_allowed', 403, { retryPath }), {
          ...tenantIds,
          objectId: admin.objectId,
        });
      }
      if (me.userType?.toLowerCase() === 'guest' || me.userPrincipalName.toUpperCase().includes('#EXT#')) {
        return refuse(problem('guest', 403, { retryPath }), { ...tenantIds, objectId: admin.objectId });
      }
      const heldRoles = roleIds.filter((r) => acceptedRoleIds.includes(r));
      if (heldRoles.length === 0) {
        return refuse(problem('not_admin', 403, { retryPath, acceptedRoles }), {
          ...tenantIds,
          objectId: admin.objectId,
        });
      }
      if (!tokens.refreshToken) return refuse(problem('no_lasting_access', 403, { retryPath }), tenantIds);

      // Everything checked. Writes from here; the customer update is the commit point.
      const at = now();
      const consentedBy = me.userPrincipalName;
      const claim = await claimTenant(admin.tenantId, customer.id);
      if (claim.kind === 'taken')
        return refuse(problem('tenant_taken', 409, { organizationName }), tenantIds);
      const secretName = refreshTokenSecretName(customer.id, admin.tenantId);
      let recorded: Customer;
      try {
        const expiresAt = new Date(at.getTime() + REFRESH_TOKEN_LIFETIME_MS);
        // A new version of the same secret: a retry after a later failure only adds a newer one.
        await deps.secrets.set(secretName, tokens.refreshToken, {
          contentType: REFRESH_TOKEN_CONTENT_TYPE,
          expiresOn: expiresAt,
          tags: { customerId: customer.id, tenantId: admin.tenantId, consentedBy: admin.objectId },
        });
        // The commit point: the customer row, with its ETag (mutate re-reads on a conflict).
        let raced = false;
        const updated = await deps.repos.customers.mutate(
          CUSTOMER_PARTITION,
          customer.id.toLowerCase(),
          (c) => {
            raced = !!c.tenantId && c.tenantId.toLowerCase() !== admin.tenantId;
            if (raced) return undefined;
            return {
              ...c,
              consentState: 'consented',
              tenantId: admin.tenantId,
              consentedBy,
              consentedByObjectId: admin.objectId,
              consentedAt: at.toISOString(),
              tokenSecretName: secretName,
              tokenExpiresAt: expiresAt.toISOString(),
              updatedAt: at.toISOString(),
            };
          },
        );
        if (!updated) throw new NotFoundError('Customer', customer.id);
        if (raced) {
          // Another organization's admin finished this customer's consent first: undo ours entirely.
          await deps.secrets
            .remove(secretName)
            .catch((e: unknown) =>
              log('error', {
                event: 'consent.secret_not_removed',
                ...tenantIds,
                message: (e as Error).message,
              }),
            );
          await releaseTenant(claim, admin.tenantId, log);
          return refuse(problem('wrong_tenant', 403, { retryPath, organizationName }), tenantIds);
        }
        recorded = updated.value;
      } catch (e) {
        // Retry-safe: the tenant is released; a secret version already written is replaced by the next try.
        await releaseTenant(claim, admin.tenantId, log);
        throw e;
      }

      // The consent is stored. What follows must not turn it into an error page.
      await deps.invitations.complete(login.invitationToken, consentedBy).catch((e: unknown) =>
        log('warning', {
          event: 'consent.invitation_not_completed',
          ...tenantIds,
          message: (e as Error).message,
        }),
      );
      await deps.audit
        .record({
          actor: `customer-admin:${consentedBy}`,
          action: 'customer.consented',
          customerId: customer.id,
          target: opened.invitation.id,
          details: {
            tenantId: admin.tenantId,
            organization: organizationName,
            consentedByObjectId: admin.objectId,
            roles: heldRoles.map(roleName),
            tokenSecretName: recorded.tokenSecretName,
            tokenExpiresAt: recorded.tokenExpiresAt,
          },
        })
        .catch((e: unknown) =>
          log('error', { event: 'consent.audit_failed', ...tenantIds, message: (e as Error).message }),
        );
      const notifyTo = deps.config.provider.notifyAddress;
      if (notifyTo) {
        await deps.mailer
          .send(
            consentNotice(
              notifyTo,
              deps.config.provider.name,
              { ...recorded, tenantId: admin.tenantId, consentedBy, consentedAt: at.toISOString() },
              organizationName,
            ),
          )
          .catch((e: unknown) =>
            log('warning', { event: 'consent.notice_not_sent', ...tenantIds, message: (e as Error).message }),
          );
      }
      log('information', { event: 'consent.recorded', ...tenantIds, objectId: admin.objectId });
      return {
        kind: 'consented',
        customerName: recorded.name,
        organizationName,
        consentedBy,
        consentedAt: at.toISOString(),
      };
    },
  };

  /** Microsoft said no: the page for it, or an error for the operators when it is our fault. */
  async function fromSignInError(e: SignInError, login: Login): Promise<ConsentProblem> {
    const retryPath = await retryPathFor(login.invitationToken);
    switch (e.aad.kind) {
      case 'cancelled':
        return problem('cancelled', 200, { retryPath });
      case 'consent_required':
        return problem('consent_required', 403, { retryPath });
      case 'account_not_allowed':
      case 'tenant_gone':
        return problem('account_not_allowed', 403, { retryPath });
      case 'blocked':
        return problem('blocked', 403, { retryPath });
      case 'temporary':
        throw new DependencyError(
          'Microsoft sign-in',
          `${e.aad.error}${e.aad.code ? ` AADSTS${e.aad.code}` : ''}`,
        );
      case 'app_misconfigured':
      case 'app_not_in_tenant':
        // The app registration or its credential is wrong: a 500 with an id, and a log line operators can act on.
        throw new Error(`The app registration was refused by Microsoft: ${e.message}`);
      default:
        return problem('signin_failed', 400, { retryPath });
    }
  }

  /** The tenants table's unique key decides, not a check-then-write. */
  async function claimTenant(tenantId: string, customerId: string): Promise<TenantClaim> {
    try {
      const created = await deps.repos.tenants.create({
        tenantId,
        customerId,
        claimedAt: now().toISOString(),
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
  async function releaseTenant(claim: TenantClaim, tenantId: string, log: ConsentLog): Promise<void> {
    if (claim.kind !== 'new') return;
    await deps.repos.tenants
      .delete(TENANT_PARTITION, tenantId, claim.etag)
      .catch((e: unknown) =>
        log('error', { event: 'consent.tenant_release_failed', tenantId, message: (e as Error).message }),
      );
  }
}

/** The customer's tenant as the order gave it (id, or a domain the organization has verified). */
function belongsToCustomer(customer: Customer, tenantId: string, org: GraphOrganization): boolean {
  if (customer.tenantId) return customer.tenantId.toLowerCase() === tenantId;
  if (customer.tenantDomain) {
    const domain = customer.tenantDomain.toLowerCase();
    return org.verifiedDomains.some((d) => d.name.toLowerCase() === domain);
  }
  return true;
}
