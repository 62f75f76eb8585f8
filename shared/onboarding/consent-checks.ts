import type { Client } from '@microsoft/microsoft-graph-client';
import type { Config } from '../config';
import { GraphRequestError } from '../graph/client';
import {
  getMe,
  getMyDirectoryRoleTemplateIds,
  getOrganization,
  type GraphOrganization,
} from '../graph/directory';
import type { Authority } from '../identity/authority';
import { IdTokenError, verifyIdToken, type SignedInAdmin } from '../identity/id-token';
import { roleName } from '../identity/roles';
import type { RedeemedTokens } from '../identity/sign-in';
import { consentProblem as problem, type Refusal } from './consent-outcomes';
import type { Customer } from './model';
import { TENANT_PARTITION, type OnboardingRepositories } from './repositories';

/**
 * Everything a consent must pass before anything is stored, read-only: the id token (ours,
 * signed, this login's nonce), the organization (the customer's and no other customer's), the
 * admin (enabled, a member not a guest, holding an accepted role, asked of Graph since `wids` may be
 * absent) and that Graph answers the new token at all. The refresh token must be there too.
 */
export interface CheckedConsent {
  admin: SignedInAdmin;
  /** The admin's user principal name, from Graph (the id token's name is for display only). */
  upn: string;
  organizationName: string;
  /** Accepted roles the admin holds, by name. */
  roles: string[];
  refreshToken: string;
}

export interface ConsentCheckDeps {
  config: Config;
  authority: Authority;
  repos: OnboardingRepositories;
  graphFor: (accessToken: string) => Client;
}

export async function checkConsent(
  deps: ConsentCheckDeps,
  input: { tokens: RedeemedTokens; nonce: string; customer: Customer; retryPath: string },
): Promise<{ ok: true; value: CheckedConsent } | ({ ok: false } & Refusal)> {
  const { tokens, customer, retryPath } = input;
  const refuse = (p: ReturnType<typeof problem>, fields: Record<string, unknown> = {}) => ({
    ok: false as const,
    problem: p,
    fields,
  });

  let admin: SignedInAdmin;
  try {
    admin = await verifyIdToken(tokens.idToken, {
      authority: deps.authority,
      clientId: deps.config.identity.clientId,
      nonce: input.nonce,
    });
  } catch (e) {
    if (e instanceof IdTokenError)
      return refuse(problem('signin_failed', 400, { retryPath }), { idToken: e.reason });
    throw e;
  }
  const ids = { tenantId: admin.tenantId, objectId: admin.objectId };

  const graph = deps.graphFor(tokens.accessToken);
  let facts;
  try {
    facts = {
      org: await getOrganization(graph),
      me: await getMe(graph),
      roleIds: await getMyDirectoryRoleTemplateIds(graph),
    };
  } catch (e) {
    if (e instanceof GraphRequestError && (e.status === 401 || e.status === 403)) {
      return refuse(problem('directory_refused', 403, { retryPath }), {
        ...ids,
        graphStatus: e.status,
        graphCode: e.code,
      });
    }
    throw e;
  }
  const { org, me, roleIds } = facts;
  if (org.id.toLowerCase() !== admin.tenantId || me.id.toLowerCase() !== admin.objectId) {
    return refuse(problem('signin_failed', 400, { retryPath }), { ...ids, graph: 'token mismatch' });
  }
  const organizationName =
    org.displayName || org.verifiedDomains.find((d) => d.isDefault)?.name || admin.tenantId;
  if (!belongsToCustomer(customer, admin.tenantId, org)) {
    return refuse(problem('wrong_tenant', 403, { retryPath, organizationName }), ids);
  }
  const owner = await deps.repos.tenants.get(TENANT_PARTITION, admin.tenantId);
  if (owner && owner.value.customerId.toLowerCase() !== customer.id.toLowerCase()) {
    return refuse(problem('tenant_taken', 409, { organizationName }), {
      ...ids,
      ownedBy: owner.value.customerId,
    });
  }
  if (me.accountEnabled === false) return refuse(problem('account_not_allowed', 403, { retryPath }), ids);
  if (me.userType?.toLowerCase() === 'guest' || me.userPrincipalName.toUpperCase().includes('#EXT#')) {
    return refuse(problem('guest', 403, { retryPath }), ids);
  }
  const accepted = deps.config.consent.adminRoleIds.map((r) => r.toLowerCase());
  const held = roleIds.filter((r) => accepted.includes(r));
  if (held.length === 0) {
    return refuse(problem('not_admin', 403, { retryPath, acceptedRoles: accepted.map(roleName) }), ids);
  }
  if (!tokens.refreshToken) return refuse(problem('no_lasting_access', 403, { retryPath }), ids);
  return {
    ok: true,
    value: {
      admin,
      upn: me.userPrincipalName,
      organizationName,
      roles: held.map(roleName),
      refreshToken: tokens.refreshToken,
    },
  };
}

/** The customer's tenant as the order gave it: its id, or a domain the organization has verified. */
export function belongsToCustomer(customer: Customer, tenantId: string, org: GraphOrganization): boolean {
  if (customer.tenantId) return customer.tenantId.toLowerCase() === tenantId;
  if (customer.tenantDomain) {
    const domain = customer.tenantDomain.toLowerCase();
    return org.verifiedDomains.some((d) => d.name.toLowerCase() === domain);
  }
  return true;
}
