import { changesOf } from './directory';
import { roleTemplateIds } from './seed';
import type { DirectoryRoleObject, DirectoryTenant, SimState } from './state';
import { stableGuid } from './state';

/**
 * Directory (admin) role memberships over time, for `GET /directoryRoles/delta` (graph/roles.ts).
 * A user's roles live on the user (`roleTemplateIds`); every grant or revocation is also logged with
 * the tenant's change stamp, so a delta token reads "membership changes above stamp N". Roles are
 * not user properties: a role change does not appear in users delta (Microsoft's behaviour).
 */

export interface RoleMemberChange {
  roleTemplateId: string;
  memberId: string;
  removed: boolean;
  version: number;
}

export interface RoleControls {
  /** Assigns a directory role (activating it in the tenant on first use, as Entra does). */
  addRoleMember(tenantId: string, roleTemplateId: string, userId: string): void;
  /** Revokes it. */
  removeRoleMember(tenantId: string, roleTemplateId: string, userId: string): void;
}

type TenantWithRoles = DirectoryTenant & { roleLog?: RoleMemberChange[] };

export function roleLogOf(tenant: DirectoryTenant): RoleMemberChange[] {
  const t = tenant as TenantWithRoles;
  t.roleLog ??= [];
  return t.roleLog;
}

const nameOf = (templateId: string): string =>
  (Object.keys(roleTemplateIds) as (keyof typeof roleTemplateIds)[]).find(
    (n) => roleTemplateIds[n] === templateId,
  ) ?? templateId;

/** The tenant's directoryRole object for a template, activated when missing. */
export function activateRole(tenant: DirectoryTenant, templateId: string): DirectoryRoleObject {
  let role = tenant.directoryRoles.find((r) => r.roleTemplateId === templateId);
  if (!role) {
    const displayName = nameOf(templateId);
    role = {
      id: stableGuid('directoryRole', tenant.id, templateId),
      roleTemplateId: templateId,
      displayName,
      description: displayName,
    };
    tenant.directoryRoles.push(role);
  }
  return role;
}

/** Records that a user gained or lost roles (a new change stamp per entry). */
export function logRoleChanges(
  tenant: DirectoryTenant,
  userId: string,
  before: readonly string[],
  after: readonly string[],
): void {
  const c = changesOf(tenant);
  const log = roleLogOf(tenant);
  for (const id of after.filter((r) => !before.includes(r))) {
    activateRole(tenant, id);
    c.seq += 1;
    log.push({ roleTemplateId: id, memberId: userId, removed: false, version: c.seq });
  }
  for (const id of before.filter((r) => !after.includes(r))) {
    c.seq += 1;
    log.push({ roleTemplateId: id, memberId: userId, removed: true, version: c.seq });
  }
}

export function createRoleControls(state: SimState): RoleControls {
  const userIn = (tenantId: string, userId: string) => {
    const t = state.findTenant(tenantId);
    if (!t) throw new Error(`no tenant ${tenantId}`);
    const u = t.users.find((x) => x.id === userId);
    if (!u) throw new Error(`no user ${userId} in tenant ${t.id}`);
    return { t, u };
  };
  return {
    addRoleMember(tenantId, roleTemplateId, userId) {
      const { t, u } = userIn(tenantId, userId);
      if (u.roleTemplateIds.includes(roleTemplateId)) return;
      const after = [...u.roleTemplateIds, roleTemplateId];
      logRoleChanges(t, userId, u.roleTemplateIds, after);
      u.roleTemplateIds = after;
    },
    removeRoleMember(tenantId, roleTemplateId, userId) {
      const { t, u } = userIn(tenantId, userId);
      if (!u.roleTemplateIds.includes(roleTemplateId)) return;
      const after = u.roleTemplateIds.filter((r) => r !== roleTemplateId);
      logRoleChanges(t, userId, u.roleTemplateIds, after);
      u.roleTemplateIds = after;
    },
  };
}
