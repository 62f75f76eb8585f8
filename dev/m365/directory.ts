import { randomUUID } from 'node:crypto';
import { createRoleControls, logRoleChanges, type RoleControls } from './directory-roles';
import { createVoiceControls, type VoiceControls } from './directory-voice';
import type { DirectoryTenant, DirectoryUser, SimState } from './state';
import { stableGuid } from './state';

/**
 * The part of the simulated directory that changes over time, as the Microsoft portal would change
 * it: groups and memberships, licences (subscribedSkus), soft and hard deletes, and a change
 * sequence per tenant that delta queries read. Every change bumps the tenant's `seq` and stamps the
 * changed object with it, so a delta token is simply "everything with a stamp above N".
 */

export interface AssignedLicense {
  skuId: string;
  disabledPlans: string[];
}

export interface SubscribedSku {
  skuId: string;
  skuPartNumber: string;
  enabledUnits: number;
}

export interface DirectoryGroup {
  id: string;
  displayName: string;
  description: string | null;
  mail: string | null;
  mailEnabled: boolean;
  securityEnabled: boolean;
  groupTypes: string[];
  createdDateTime: string;
  members: string[];
  version: number;
}

/** A user or group taken out of the directory: soft (`changed`, restorable) or hard (`deleted`). */
export interface Tombstone {
  id: string;
  kind: 'user' | 'group';
  reason: 'changed' | 'deleted';
  version: number;
  /** A soft-deleted user, kept to be restored. */
  user?: DirectoryUser;
}

export interface MembershipChange {
  groupId: string;
  memberId: string;
  removed: boolean;
  version: number;
}

/** What delta needs on top of the seeded tenant; created on first use, persisted with the tenant. */
export interface DirectoryChanges {
  seq: number;
  /** Tokens issued before a reset (or older than `deltaTokenLifetimeMs`) are refused. */
  epoch: number;
  resetAnswer: '410' | 'syncStateNotFound';
  groups: DirectoryGroup[];
  subscribedSkus: SubscribedSku[];
  tombstones: Tombstone[];
  memberLog: MembershipChange[];
  /** Version stamp per user id (0 = as seeded). */
  userVersions: Record<string, number>;
  licenses: Record<string, AssignedLicense[]>;
  onPremisesSync: Record<string, boolean>;
}

type TenantWithChanges = DirectoryTenant & { changes?: DirectoryChanges };

export function changesOf(tenant: DirectoryTenant): DirectoryChanges {
  const t = tenant as TenantWithChanges;
  t.changes ??= {
    seq: 0,
    epoch: 0,
    resetAnswer: '410',
    groups: [],
    subscribedSkus: [],
    tombstones: [],
    memberLog: [],
    userVersions: {},
    licenses: {},
    onPremisesSync: {},
  };
  return t.changes;
}

export const userVersion = (tenant: DirectoryTenant, id: string): number =>
  changesOf(tenant).userVersions[id] ?? 0;

/** Well-known SKU ids (Microsoft's product names and service plan identifiers table). */
export const skus = {
  ENTERPRISEPACK: '6fd2c87f-b296-42f0-b197-1e91e994b900',
  SPE_E3: '05e9a617-0261-4cee-bb44-138d3ef5d965',
  MCOEV: 'e43b5b99-8dfb-405f-9987-dc307f34bcbd',
  O365_BUSINESS_PREMIUM: 'f245ecc8-75af-4f8e-b61f-27d8114de5f3',
} as const;

export interface GeneratedTenantOptions {
  id?: string;
  domain: string;
  users: number;
  groups?: number;
  /** Total memberships, spread over the groups (the first group gets a large share). */
  memberships?: number;
}

export interface PortalControls extends VoiceControls, RoleControls {
  /** A tenant of any size, added to the running simulator, consented for the app with `scopes`. */
  addTenant(options: GeneratedTenantOptions): DirectoryTenant;
  updateUser(tenantId: string, userId: string, patch: Partial<DirectoryUser>): void;
  addUser(tenantId: string, user: Partial<DirectoryUser> & { userPrincipalName: string }): DirectoryUser;
  /** Soft delete (restorable, delta says `changed`) or permanent (`deleted`). */
  deleteUser(tenantId: string, userId: string, options?: { permanent?: boolean }): void;
  restoreUser(tenantId: string, userId: string): void;
  setLicenses(tenantId: string, userId: string, licenses: AssignedLicense[]): void;
  /** Replaces a user's directory roles (logged for directoryRoles/delta; not a user change). */
  setRoles(tenantId: string, userId: string, roleTemplateIds: string[]): void;
  /** The licences the tenant bought (subscribedSkus). */
  setSubscribedSkus(tenantId: string, skus: SubscribedSku[]): void;
  addGroup(tenantId: string, group: Partial<DirectoryGroup> & { displayName: string }): DirectoryGroup;
  deleteGroup(tenantId: string, groupId: string): void;
  addMember(tenantId: string, groupId: string, memberId: string): void;
  removeMember(tenantId: string, groupId: string, memberId: string): void;
  /** Invalidates every delta token of the tenant: the next use answers 410 Gone or 400 syncStateNotFound. */
  resetDeltaTokens(tenantId: string, answer?: '410' | 'syncStateNotFound'): void;
  /** The next `times` Graph requests (of a tenant, or all) answer 429 with this Retry-After. */
  throttle(options: { tenantId?: string; times: number; retryAfter?: string; inBatch?: boolean }): void;
  /** Delta paging: objects per page, membership entries per page, empty pages before the content. */
  setDeltaPaging(options: { pageSize?: number; membersPerPage?: number; emptyPages?: number }): void;
  /** Graph requests answered per tenant id since the start (or the last reset). */
  graphRequests(tenantId?: string): number;
  /** The most Graph requests (and resource units) of a tenant within any `windowMs` (wall clock). */
  graphPeak(tenantId: string, windowMs?: number): { requests: number; units: number };
  /** Graph requests of a tenant whose path matches (since the last reset). */
  graphRequestsTo(tenantId: string, path: RegExp): number;
  resetGraphRequests(): void;
  /** Delta rounds started (a request without a skip token) per tenant and kind: one per sync run. */
  deltaRounds(tenantId: string, kind: 'users' | 'groups'): number;
  /** Requests that came back before the Retry-After of their tenant's last 429 had passed. */
  ignoredRetryAfter(): number;
}

export interface GraphFault {
  tenantId?: string;
  remaining: number;
  retryAfter: string;
  /** Throttles the items inside $batch requests (each answers 429 with its own Retry-After), not requests. */
  inBatch?: boolean;
}

/** Test-time knobs of the Graph directory (not persisted). */
export type ChangeHook = (
  tenantId: string,
  kind: 'user' | 'group',
  id: string,
  changeType: 'updated' | 'deleted',
) => void;

export interface DirectoryKnobs {
  /** Told of every change to a user or group, from the portal or a Graph write (change notifications). */
  onChange?: ChangeHook;
  pageSize: number;
  membersPerPage: number;
  emptyPages: number;
  faults: GraphFault[];
  requests: Map<string, number>;
  /** `<tenant id>|users` / `|groups` → delta rounds started. */
  rounds: Map<string, number>;
  /** When each request of a tenant came (wall clock) and what it cost. */
  requestLog: Map<string, { at: number; units: number; path: string }[]>;
  /** Until when (wall clock) a throttled tenant must stay away, and how often a client came back early. */
  throttledUntil: Map<string, number>;
  ignoredRetryAfter: number;
}

const knobsByState = new WeakMap<SimState, DirectoryKnobs>();

export function knobsOf(state: SimState): DirectoryKnobs {
  let k = knobsByState.get(state);
  if (!k) {
    k = {
      pageSize: 200,
      membersPerPage: 2000,
      emptyPages: 0,
      faults: [],
      requests: new Map(),
      rounds: new Map(),
      requestLog: new Map(),
      throttledUntil: new Map(),
      ignoredRetryAfter: 0,
    };
    knobsByState.set(state, k);
  }
  return k;
}

function bump(tenant: DirectoryTenant): number {
  const c = changesOf(tenant);
  c.seq += 1;
  return c.seq;
}

export function touchUser(tenant: DirectoryTenant, userId: string): void {
  changesOf(tenant).userVersions[userId] = bump(tenant);
}

/** A user changed through Graph itself (PATCH, assignLicense): delta sees it, subscriptions are told. */
export function userWritten(state: SimState, tenant: DirectoryTenant, userId: string): void {
  touchUser(tenant, userId);
  knobsOf(state).onChange?.(tenant.id, 'user', userId, 'updated');
}

export function createPortalControls(
  state: SimState,
  /** Every change to a user or group (change notifications listen here); permanent deletes are `deleted`. */
  onChange: ChangeHook = () => undefined,
): PortalControls {
  knobsOf(state).onChange = onChange;
  const tenantOf = (id: string): DirectoryTenant => {
    const t = state.findTenant(id);
    if (!t) throw new Error(`no tenant ${id}`);
    return t;
  };
  const userOf = (t: DirectoryTenant, id: string): DirectoryUser => {
    const u = t.users.find((x) => x.id === id);
    if (!u) throw new Error(`no user ${id} in tenant ${t.id}`);
    return u;
  };
  const groupOf = (t: DirectoryTenant, id: string): DirectoryGroup => {
    const g = changesOf(t).groups.find((x) => x.id === id);
    if (!g) throw new Error(`no group ${id} in tenant ${t.id}`);
    return g;
  };
  const changedUser = (t: DirectoryTenant, id: string) => {
    touchUser(t, id);
    onChange(t.id, 'user', id, 'updated');
  };
  const changedGroup = (t: DirectoryTenant, g: DirectoryGroup) => {
    g.version = bump(t);
    onChange(t.id, 'group', g.id, 'updated');
  };
  const membership = (t: DirectoryTenant, g: DirectoryGroup, memberId: string, removed: boolean) => {
    const c = changesOf(t);
    const has = g.members.includes(memberId);
    if (has !== removed) return;
    g.members = removed ? g.members.filter((m) => m !== memberId) : [...g.members, memberId];
    changedGroup(t, g);
    c.memberLog.push({ groupId: g.id, memberId, removed, version: g.version });
  };

  return {
    ...createVoiceControls(state),
    ...createRoleControls(state),
    addTenant(options) {
      const id = options.id ?? randomUUID();
      const created = '2024-01-01T00:00:00Z';
      const users: DirectoryUser[] = [];
      for (let i = 0; i < options.users; i++) {
        const upn = `user${i}@${options.domain}`;
        users.push({
          id: stableGuid('user', id, String(i)),
          displayName: `User ${i}`,
          givenName: 'User',
          surname: String(i),
          userPrincipalName: upn,
          mail: upn,
          userType: 'Member',
          accountEnabled: true,
          jobTitle: i % 3 === 0 ? 'Engineer' : 'Sales',
          businessPhones: [],
          mobilePhone: null,
          officeLocation: null,
          preferredLanguage: 'en-US',
          usageLocation: 'US',
          department: i % 2 === 0 ? 'Sales' : 'Engineering',
          tenantId: id,
          roleTemplateIds: [],
          createdDateTime: created,
          tokensValidFrom: 0,
        });
      }
      const tenant: DirectoryTenant = {
        id,
        displayName: options.domain,
        tenantType: 'AAD',
        countryLetterCode: 'US',
        createdDateTime: created,
        verifiedDomains: [
          { name: options.domain, isDefault: true, isInitial: true, type: 'Managed', capabilities: 'Email' },
        ],
        users,
        directoryRoles: [],
      };
      const c = changesOf(tenant);
      c.subscribedSkus = [{ skuId: skus.SPE_E3, skuPartNumber: 'SPE_E3', enabledUnits: options.users }];
      for (const u of users) c.licenses[u.id] = [{ skuId: skus.SPE_E3, disabledPlans: [] }];
      const groupCount = options.groups ?? 0;
      const memberships = options.memberships ?? 0;
      for (let g = 0; g < groupCount; g++) {
        c.groups.push({
          id: stableGuid('group', id, String(g)),
          displayName: `Group ${g}`,
          description: null,
          mail: null,
          mailEnabled: false,
          securityEnabled: true,
          groupTypes: [],
          createdDateTime: created,
          members: [],
          version: 0,
        });
      }
      // The first group holds up to every user (a large "All company" group spanning pages); the rest
      // of the memberships are dealt round-robin.
      if (groupCount > 0 && users.length > 0) {
        let left = memberships;
        const first = c.groups[0];
        if (first) {
          const n = Math.min(users.length, left);
          first.members = users.slice(0, n).map((u) => u.id);
          left -= n;
        }
        for (let k = 0; left > 0 && groupCount > 1; k++) {
          const g = c.groups[1 + (k % (groupCount - 1))];
          const u = users[Math.floor(k / (groupCount - 1)) % users.length];
          if (!g || !u) break;
          if (!g.members.includes(u.id)) {
            g.members.push(u.id);
            left--;
          } else if (k > memberships * 2) break;
        }
      }
      state.tenants.push(tenant);
      return tenant;
    },
    updateUser(tenantId, userId, patch) {
      const t = tenantOf(tenantId);
      Object.assign(userOf(t, userId), patch, { id: userId });
      changedUser(t, userId);
    },
    addUser(tenantId, input) {
      const t = tenantOf(tenantId);
      const user: DirectoryUser = {
        displayName: input.userPrincipalName,
        givenName: null,
        surname: null,
        mail: input.userPrincipalName,
        userType: 'Member',
        accountEnabled: true,
        businessPhones: [],
        roleTemplateIds: [],
        createdDateTime: new Date(state.now()).toISOString(),
        tokensValidFrom: 0,
        ...input,
        id: input.id ?? randomUUID(),
        tenantId: t.id,
      };
      t.users.push(user);
      changedUser(t, user.id);
      return user;
    },
    deleteUser(tenantId, userId, options = {}) {
      const t = tenantOf(tenantId);
      const c = changesOf(t);
      const existing = t.users.find((u) => u.id === userId);
      const soft = c.tombstones.find((s) => s.id === userId);
      if (!existing && !soft) throw new Error(`no user ${userId}`);
      t.users = t.users.filter((u) => u.id !== userId);
      // A user taken out of the directory leaves its roles (restoring it brings them back).
      if (existing) logRoleChanges(t, userId, existing.roleTemplateIds, []);
      c.tombstones = c.tombstones.filter((s) => s.id !== userId);
      // delta-query-groups.md: only a permanently deleted user leaves its groups; a soft-deleted one
      // keeps its memberships.
      if (options.permanent) {
        for (const g of c.groups) if (g.members.includes(userId)) membership(t, g, userId, true);
      }
      const version = bump(t);
      c.tombstones.push({
        id: userId,
        kind: 'user',
        reason: options.permanent ? 'deleted' : 'changed',
        version,
        ...(!options.permanent && existing ? { user: existing } : {}),
      });
      onChange(t.id, 'user', userId, options.permanent ? 'deleted' : 'updated');
    },
    restoreUser(tenantId, userId) {
      const t = tenantOf(tenantId);
      const c = changesOf(t);
      const stone = c.tombstones.find((s) => s.id === userId && s.reason === 'changed' && s.user);
      if (!stone?.user) throw new Error(`no soft-deleted user ${userId}`);
      t.users.push(stone.user);
      logRoleChanges(t, userId, [], stone.user.roleTemplateIds);
      c.tombstones = c.tombstones.filter((s) => s !== stone);
      changedUser(t, userId);
    },
    setLicenses(tenantId, userId, licenses) {
      const t = tenantOf(tenantId);
      userOf(t, userId);
      changesOf(t).licenses[userId] = licenses;
      changedUser(t, userId);
    },
    setRoles(tenantId, userId, roleTemplateIds) {
      const t = tenantOf(tenantId);
      const user = userOf(t, userId);
      logRoleChanges(t, userId, user.roleTemplateIds, roleTemplateIds);
      user.roleTemplateIds = [...roleTemplateIds];
    },
    setSubscribedSkus(tenantId, list) {
      changesOf(tenantOf(tenantId)).subscribedSkus = list;
    },
    addGroup(tenantId, input) {
      const t = tenantOf(tenantId);
      const g: DirectoryGroup = {
        description: null,
        mail: null,
        mailEnabled: false,
        securityEnabled: true,
        groupTypes: [],
        createdDateTime: new Date(state.now()).toISOString(),
        members: [],
        ...input,
        id: input.id ?? randomUUID(),
        version: 0,
      };
      changesOf(t).groups.push(g);
      const members = g.members;
      g.members = [];
      changedGroup(t, g);
      for (const m of members) membership(t, g, m, false);
      return g;
    },
    deleteGroup(tenantId, groupId) {
      const t = tenantOf(tenantId);
      const c = changesOf(t);
      groupOf(t, groupId);
      c.groups = c.groups.filter((g) => g.id !== groupId);
      c.tombstones.push({ id: groupId, kind: 'group', reason: 'changed', version: bump(t) });
      onChange(t.id, 'group', groupId, 'updated');
    },
    addMember: (tenantId, groupId, memberId) => {
      const t = tenantOf(tenantId);
      membership(t, groupOf(t, groupId), memberId, false);
    },
    removeMember: (tenantId, groupId, memberId) => {
      const t = tenantOf(tenantId);
      membership(t, groupOf(t, groupId), memberId, true);
    },
    resetDeltaTokens(tenantId, answer = '410') {
      const c = changesOf(tenantOf(tenantId));
      c.epoch += 1;
      c.resetAnswer = answer;
    },
    throttle({ tenantId, times, retryAfter = '1', inBatch }) {
      knobsOf(state).faults.push({
        ...(tenantId ? { tenantId: tenantOf(tenantId).id } : {}),
        remaining: times,
        retryAfter,
        ...(inBatch ? { inBatch } : {}),
      });
    },
    setDeltaPaging(options) {
      const k = knobsOf(state);
      if (options.pageSize !== undefined) k.pageSize = options.pageSize;
      if (options.membersPerPage !== undefined) k.membersPerPage = options.membersPerPage;
      if (options.emptyPages !== undefined) k.emptyPages = options.emptyPages;
    },
    graphRequests(tenantId) {
      const r = knobsOf(state).requests;
      if (tenantId) return r.get(tenantOf(tenantId).id) ?? 0;
      let n = 0;
      for (const v of r.values()) n += v;
      return n;
    },
    graphRequestsTo(tenantId, path) {
      const log = knobsOf(state).requestLog.get(tenantOf(tenantId).id) ?? [];
      return log.filter((r) => path.test(r.path)).length;
    },
    graphPeak(tenantId, windowMs = 10_000) {
      const log = knobsOf(state).requestLog.get(tenantOf(tenantId).id) ?? [];
      let requests = 0;
      let units = 0;
      let from = 0;
      let inWindow = 0;
      for (let i = 0; i < log.length; i++) {
        const entry = log[i] as { at: number; units: number };
        inWindow += entry.units;
        while ((log[from] as { at: number }).at <= entry.at - windowMs) {
          inWindow -= (log[from] as { units: number }).units;
          from++;
        }
        requests = Math.max(requests, i - from + 1);
        units = Math.max(units, inWindow);
      }
      return { requests, units };
    },
    ignoredRetryAfter() {
      return knobsOf(state).ignoredRetryAfter;
    },
    resetGraphRequests() {
      knobsOf(state).requests.clear();
      knobsOf(state).requestLog.clear();
    },
    deltaRounds(tenantId, kind) {
      return knobsOf(state).rounds.get(`${tenantOf(tenantId).id}|${kind}`) ?? 0;
    },
  };
}
