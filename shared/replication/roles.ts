import { roleName } from '../identity/roles';
import type { Log } from '../log';
import type { TableRepository } from '../storage/table-repository';
import { GraphResyncError, type GraphReader } from './graph';
import type { RoleMembership, SyncState } from './model';
import { partitionOf, roleKey, type ReplicationRepositories } from './repositories';
import { reconcileRoleRevoked, removedReason, type Reconciliation } from './rules';

/**
 * Who holds which directory (admin) role, from `GET /directoryRoles/delta` with `members@delta`:
 * roles are not user properties, so users delta never shows a revocation. One row per assignment
 * (`reproles`, RowKey `<role template id>|<user id>`), written only when it appears or goes. A
 * revoked assignment of a user still in the tenant is handed to `onReconciliation` (audit and status
 * callback) before its row is deleted; the delta link is saved only after every row it covers is
 * committed, so a worker killed half-way repeats the pages, finds those rows already gone, and
 * reports nothing twice. Without a link (first run, 410, syncStateNotFound) the round is full: the
 * assignments it does not list are the revoked ones.
 */

const LINK_REFRESH_MS = 24 * 3600 * 1000;

export interface RoleCounts {
  graphRequests: number;
  written: number;
  revoked: number;
  reconciliations: number;
}

export function createRoleSync(deps: {
  repos: Pick<ReplicationRepositories, 'roles' | 'users' | 'sync'>;
  graph: GraphReader;
  graphBaseUrl: string;
  now: () => Date;
  onReconciliation: (customerId: string, r: Reconciliation, version: string) => Promise<void>;
}) {
  const start = `${deps.graphBaseUrl.replace(/\/+$/, '')}/v1.0/directoryRoles/delta?$select=roleTemplateId,displayName,members`;
  const repo = deps.repos.roles;

  return async function syncRoles(input: {
    customerId: string;
    accessToken: string;
    state: SyncState;
    log: Log;
  }): Promise<{ state: SyncState; counts: RoleCounts; full: boolean }> {
    const { customerId, accessToken } = input;
    const pk = partitionOf(customerId);
    const counts: RoleCounts = { graphRequests: 0, written: 0, revoked: 0, reconciliations: 0 };
    let held: Map<string, RoleMembership> | undefined;
    const seen = new Set<string>();
    const loadAll = async () => {
      held = new Map();
      seen.clear();
      for await (const r of repo.listAll({ partitionKey: pk }))
        held.set(roleKey(r.value.roleTemplateId, r.value.memberId), r.value);
    };
    let full = input.state.rolesDeltaLink === undefined;
    if (full) await loadAll();

    const revoke = async (rows: RoleMembership[]) => {
      for (const m of rows) {
        const user = await deps.repos.users.get(pk, m.memberId);
        for (const r of reconcileRoleRevoked(m, user?.value, roleName)) {
          await deps.onReconciliation(customerId, r, m.since);
          counts.reconciliations++;
        }
        await (repo as TableRepository<object>).delete(pk, roleKey(m.roleTemplateId, m.memberId));
        held?.delete(roleKey(m.roleTemplateId, m.memberId));
        counts.revoked++;
      }
    };

    let url = input.state.rolesDeltaLink ?? start;
    let restarted = full;
    let deltaLink: string | undefined;
    while (!deltaLink) {
      let page;
      try {
        page = await deps.graph.get(url, accessToken);
      } catch (e) {
        if (!(e instanceof GraphResyncError) || restarted) throw e;
        input.log.warn('replication_resync', { customerId, kind: 'directoryRoles', status: e.status });
        restarted = full = true;
        await loadAll();
        url = e.location ?? start;
        continue;
      }
      counts.graphRequests++;
      const at = deps.now().toISOString();
      const added: RoleMembership[] = [];
      const removed: RoleMembership[] = [];
      for (const role of page.value) {
        const templateId = String(role.roleTemplateId ?? '').toLowerCase();
        if (!templateId) continue;
        const members = Array.isArray(role['members@delta'])
          ? (role['members@delta'] as Record<string, unknown>[])
          : [];
        for (const m of members) {
          const memberId = String(m.id).toLowerCase();
          const key = roleKey(templateId, memberId);
          const known = held ? held.get(key) : (await repo.get(pk, key))?.value;
          if (removedReason(m)) {
            if (known) removed.push(known);
            continue;
          }
          seen.add(key);
          if (!known) {
            const row = {
              customerId,
              roleTemplateId: templateId,
              roleName: roleName(templateId),
              memberId,
              since: at,
            };
            added.push(row);
            held?.set(key, row);
          }
        }
      }
      for (const row of added) await repo.upsert(row);
      counts.written += added.length;
      await revoke(removed);
      if (page.deltaLink) deltaLink = page.deltaLink;
      else if (page.nextLink) url = page.nextLink;
      else throw new Error('Graph directoryRoles delta page had neither a next nor a delta link');
    }
    if (full && held) {
      // A full round lists every assignment: what it did not list was revoked meanwhile.
      await revoke([...held.entries()].filter(([k]) => !seen.has(k)).map(([, v]) => v));
    }
    // Every row this link covers is committed: only now is it saved. With nothing changed the held
    // link still covers everything; it is renewed daily, well inside a delta token's 7 days.
    const now = deps.now();
    const quiet = !full && counts.written + counts.revoked === 0;
    const linkFresh =
      input.state.rolesLinkSavedAt !== undefined &&
      now.getTime() - Date.parse(input.state.rolesLinkSavedAt) < LINK_REFRESH_MS;
    let state: SyncState = { ...input.state, rolesCheckedAt: now.toISOString() };
    delete state.rolesError;
    if (!quiet || !linkFresh) {
      state = { ...state, rolesDeltaLink: deltaLink, rolesLinkSavedAt: now.toISOString() };
      await deps.repos.sync.upsert(state);
    }
    return { state, counts, full };
  };
}

export type RoleSync = ReturnType<typeof createRoleSync>;
