import { changesOf, knobsOf, userVersion, type DirectoryGroup } from '../directory';
import type { DirectoryTenant } from '../state';
import { hasPermission } from './auth';
import { graphErrors, sendGraph, sendGraphError } from './errors';
import { decodeToken, encodeToken, firstRound, type RoundState } from './delta-token';
import { collectionContext, parseSelect, project } from './odata';
import type { GraphRequest, GraphRoute } from './types';
import { defaultUserProperties, selectableUserProperties, userEntity } from './users';

/**
 * GET /users/delta and /groups/delta as Microsoft documents them: pages linked by `@odata.nextLink`
 * until an `@odata.deltaLink`; `$select` baked into the tokens (later requests carry only the
 * token); pages that may be empty yet carry a next link; removed objects as `{ id, "@removed":
 * { reason: "changed" | "deleted" } }`; groups with `members@delta`, a large group's members spread
 * over several pages (the group repeated with only its id and the next members); tokens that expire
 * (7 days) or are reset answer 410 Gone with a Location to start over, or 400 syncStateNotFound.
 * Plus GET /subscribedSkus (licence names and counts).
 */

const DELTA_TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000;

type Kind = 'users' | 'groups';

interface DeltaState extends RoundState<Kind> {
  /** A group whose members continue at `o` on the next page. */
  c?: string;
  o?: number;
  /** Empty pages still to serve before the content. */
  z?: number;
}

const encode = encodeToken;
const decode = (token: string) => decodeToken<DeltaState>(token, ['users', 'groups']);

export const groupProperties = [
  'id',
  'displayName',
  'description',
  'mail',
  'mailEnabled',
  'securityEnabled',
  'groupTypes',
  'createdDateTime',
  'members',
] as const;

function groupEntity(g: DirectoryGroup): Record<string, unknown> {
  return {
    id: g.id,
    displayName: g.displayName,
    description: g.description,
    mail: g.mail,
    mailEnabled: g.mailEnabled,
    securityEnabled: g.securityEnabled,
    groupTypes: g.groupTypes,
    createdDateTime: g.createdDateTime,
  };
}

export const usersRead = [
  'User.ReadBasic.All',
  'User.Read.All',
  'User.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];
export const groupsRead = [
  'Group.Read.All',
  'Group.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];

function deltaUrl(base: string, kind: Kind, query: string): string {
  return `${base}/${kind}/delta?${query}`;
}

function restartUrl(r: GraphRequest, s: DeltaState): string {
  return deltaUrl(r.base, s.k, `${s.s ? `$select=${s.s.join(',')}&` : ''}$deltatoken=`);
}

function delta(kind: Kind) {
  return (r: GraphRequest): void => {
    const tenant = r.principal.tenant;
    const now = r.ctx.state.now();
    const allowed =
      kind === 'users'
        ? hasPermission(r.principal, usersRead, usersRead)
        : hasPermission(r.principal, groupsRead, groupsRead);
    if (!allowed) {
      return sendGraphError(
        r.ex,
        403,
        'Authorization_RequestDenied',
        graphErrors.insufficientPrivileges,
        now,
      );
    }
    const changes = changesOf(tenant);
    const token = r.query.get('$skiptoken') || r.query.get('$deltatoken') || null;
    if (!r.query.get('$skiptoken')) {
      const rounds = knobsOf(r.ctx.state).rounds;
      const roundKey = `${tenant.id}|${kind}`;
      rounds.set(roundKey, (rounds.get(roundKey) ?? 0) + 1);
    }
    let s: DeltaState;
    if (token !== null) {
      const parsed = decode(token);
      if (!parsed || parsed.k !== kind || parsed.t !== tenant.id) {
        return sendGraphError(r.ex, 400, 'BadRequest', 'Invalid delta or skip token.', now);
      }
      const expired = now - parsed.i > DELTA_TOKEN_LIFETIME_MS;
      const reset = parsed.e !== changes.epoch;
      if (expired || (reset && changes.resetAnswer === 'syncStateNotFound')) {
        // errors.md: "The delta token is expired and data must be synchronized again."
        return sendGraphError(
          r.ex,
          400,
          'syncStateNotFound',
          'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
          now,
        );
      }
      if (reset) {
        // A sync reset: 410 Gone with a Location holding an empty $deltatoken (a full round).
        return sendGraphError(
          r.ex,
          410,
          'resyncRequired',
          'The delta token is no longer valid, and the app must reset the sync state.',
          now,
          { Location: restartUrl(r, parsed) },
        );
      }
      s = parsed;
      if (r.query.has('$deltatoken')) {
        // A new round from the stamp the delta link was issued at.
        s = {
          ...s,
          u: changes.seq,
          a: undefined,
          c: undefined,
          o: undefined,
          z: knobsOf(r.ctx.state).emptyPages,
        };
        delete s.f;
      }
    } else {
      for (const unsupported of ['$top', '$expand', '$orderby']) {
        if (r.query.has(unsupported)) {
          return sendGraphError(
            r.ex,
            400,
            'BadRequest',
            `${unsupported} is not supported with delta queries.`,
            now,
          );
        }
      }
      const known = kind === 'users' ? selectableUserProperties : groupProperties;
      const select = parseSelect(r.query, known, `microsoft.graph.${kind === 'users' ? 'user' : 'group'}`);
      if ('error' in select) return sendGraphError(r.ex, 400, 'BadRequest', select.error, now);
      s = {
        ...firstRound(kind, tenant.id, select.properties, changes, now),
        z: knobsOf(r.ctx.state).emptyPages,
      };
    }
    const context = collectionContext(r.base, kind, s.s ?? undefined);
    if ((s.z ?? 0) > 0) {
      return sendGraph(r.ex, 200, {
        '@odata.context': context,
        '@odata.nextLink': deltaUrl(r.base, kind, `$skiptoken=${encode({ ...s, z: (s.z ?? 1) - 1 })}`),
        value: [],
      });
    }
    const page = kind === 'users' ? usersPage(r, tenant, s) : groupsPage(r, tenant, s);
    const link = page.next
      ? { '@odata.nextLink': deltaUrl(r.base, kind, `$skiptoken=${encode(page.next)}`) }
      : {
          '@odata.deltaLink': deltaUrl(
            r.base,
            kind,
            `$deltatoken=${encode({ k: kind, t: tenant.id, s: s.s, q: s.u ?? changes.seq, e: s.e, i: now })}`,
          ),
        };
    sendGraph(r.ex, 200, { '@odata.context': context, ...link, value: page.value });
  };
}

/** Directory objects always come with their id, whatever $select says (the documented samples). */
const withId = (select: string[] | null): string[] | undefined =>
  select ? (select.includes('id') ? select : [...select, 'id']) : undefined;

interface Page {
  value: Record<string, unknown>[];
  next?: DeltaState;
}

const inRound = (version: number, s: DeltaState) => version > s.q && version <= (s.u ?? Infinity);

function usersPage(r: GraphRequest, tenant: DirectoryTenant, s: DeltaState): Page {
  const { pageSize } = knobsOf(r.ctx.state);
  const changes = changesOf(tenant);
  const entries: { id: string; make: () => Record<string, unknown> }[] = [];
  for (const u of tenant.users) {
    if (s.a !== undefined && u.id <= s.a) continue;
    if (!s.f && !inRound(userVersion(tenant, u.id), s)) continue;
    entries.push({
      id: u.id,
      make: () => project(userEntity(u, changes), withId(s.s), defaultUserProperties),
    });
  }
  if (!s.f) {
    for (const t of changes.tombstones) {
      if (t.kind !== 'user' || (s.a !== undefined && t.id <= s.a) || !inRound(t.version, s)) continue;
      entries.push({ id: t.id, make: () => ({ id: t.id, '@removed': { reason: t.reason } }) });
    }
  }
  entries.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const taken = entries.slice(0, pageSize);
  const last = taken[taken.length - 1];
  return {
    value: taken.map((e) => e.make()),
    ...(entries.length > pageSize && last ? { next: { ...s, a: last.id } } : {}),
  };
}

function groupsPage(r: GraphRequest, tenant: DirectoryTenant, s: DeltaState): Page {
  const { pageSize, membersPerPage } = knobsOf(r.ctx.state);
  const changes = changesOf(tenant);
  const withMembers = s.s === null || s.s.includes('members');
  type Entry = {
    id: string;
    group?: DirectoryGroup;
    removed?: 'changed' | 'deleted';
    members: { id: string; removed: boolean }[];
  };
  const entries: Entry[] = [];
  for (const g of changes.groups) {
    if (s.a !== undefined && g.id <= s.a) continue;
    let members: { id: string; removed: boolean }[];
    if (s.f) {
      members = g.members.map((id) => ({ id, removed: false }));
    } else {
      const log = new Map<string, boolean>();
      for (const m of changes.memberLog) {
        if (m.groupId === g.id && inRound(m.version, s)) log.set(m.memberId, m.removed);
      }
      if (!inRound(g.version, s) && log.size === 0) continue;
      members = [...log].map(([id, removed]) => ({ id, removed }));
    }
    entries.push({ id: g.id, group: g, members: withMembers ? members : [] });
  }
  if (!s.f) {
    for (const t of changes.tombstones) {
      if (t.kind !== 'group' || (s.a !== undefined && t.id <= s.a) || !inRound(t.version, s)) continue;
      entries.push({ id: t.id, removed: t.reason, members: [] });
    }
  }
  entries.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const value: Record<string, unknown>[] = [];
  let memberBudget = membersPerPage;
  for (const [index, e] of entries.entries()) {
    if (value.length >= pageSize) {
      return { value, next: { ...s, a: entries[index - 1]?.id ?? s.a, c: undefined, o: undefined } };
    }
    if (e.removed) {
      value.push({ id: e.id, '@removed': { reason: e.removed } });
      continue;
    }
    const continuing = s.c === e.id;
    const offset = continuing ? (s.o ?? 0) : 0;
    const rest = e.members.slice(offset);
    if (rest.length > 0 && memberBudget === 0) {
      return { value, next: { ...s, a: entries[index - 1]?.id ?? s.a, c: undefined, o: undefined } };
    }
    const chunk = rest.slice(0, memberBudget);
    memberBudget -= chunk.length;
    const membersDelta = chunk.map((m) => ({
      '@odata.type': '#microsoft.graph.user',
      id: m.id,
      ...(m.removed ? { '@removed': { reason: 'deleted' } } : {}),
    }));
    const props =
      continuing || !e.group
        ? { id: e.id }
        : project(
            groupEntity(e.group),
            withId(s.s)?.filter((p) => p !== 'members'),
            groupProperties.filter((p) => p !== 'members'),
          );
    value.push({ ...props, ...(withMembers ? { 'members@delta': membersDelta } : {}) });
    if (chunk.length < rest.length) {
      // The group's members go on in the next page: the same group again, with the next members.
      return {
        value,
        next: { ...s, a: entries[index - 1]?.id ?? s.a, c: e.id, o: offset + chunk.length },
      };
    }
  }
  return { value };
}

function subscribedSkus(r: GraphRequest): void {
  const tenant = r.principal.tenant;
  const changes = changesOf(tenant);
  const consumed = (skuId: string) =>
    Object.entries(changes.licenses).filter(
      ([id, l]) => l.some((x) => x.skuId === skuId) && tenant.users.some((u) => u.id === id),
    ).length;
  sendGraph(r.ex, 200, {
    '@odata.context': collectionContext(r.base, 'subscribedSkus'),
    value: changes.subscribedSkus.map((s) => ({
      capabilityStatus: 'Enabled',
      appliesTo: 'User',
      consumedUnits: consumed(s.skuId),
      id: `${tenant.id}_${s.skuId}`,
      skuId: s.skuId,
      skuPartNumber: s.skuPartNumber,
      prepaidUnits: { enabled: s.enabledUnits, suspended: 0, warning: 0, lockedOut: 0 },
      servicePlans: [],
    })),
  });
}

export const deltaRoutes: GraphRoute[] = [
  { method: 'GET', pattern: /^\/users\/delta(?:\(\))?$/, handler: delta('users') },
  { method: 'GET', pattern: /^\/groups\/delta(?:\(\))?$/, handler: delta('groups') },
  { method: 'GET', pattern: /^\/subscribedSkus$/, handler: subscribedSkus },
];
