import { changesOf, knobsOf } from '../directory';
import { roleLogOf } from '../directory-roles';
import type { DirectoryRoleObject, DirectoryTenant } from '../state';
import { hasPermission } from './auth';
import { graphErrors, sendGraph, sendGraphError } from './errors';
import { decodeToken, encodeToken, firstRound, type RoundState } from './delta-token';
import { collectionContext, parseSelect, project } from './odata';
import type { GraphRequest, GraphRoute } from './types';

/**
 * `GET /directoryRoles/delta` (directoryrole-delta.md): the tenant's activated directory roles with
 * `members@delta` (members added, or `{ "@odata.type": "#microsoft.graph.user", id, "@removed":
 * { reason: "deleted" } }` when removed), paged by `@odata.nextLink` until an `@odata.deltaLink`;
 * `$select` baked into the tokens; tokens expire or are reset like users/groups delta tokens
 * (410 Gone with a Location, or 400 syncStateNotFound). Least privileged permission
 * `RoleManagement.Read.Directory`; `Directory.Read.All`, `Directory.ReadWrite.All`,
 * `RoleManagement.ReadWrite.Directory` also do (delegated and application).
 */

const DELTA_TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000;
const allowed = [
  'RoleManagement.Read.Directory',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
  'RoleManagement.ReadWrite.Directory',
];
const properties = ['id', 'description', 'displayName', 'roleTemplateId', 'members'] as const;

type RoleDeltaState = RoundState<'directoryRoles'> & { u: number };

const encode = encodeToken;
const decode = (token: string) => decodeToken<RoleDeltaState>(token, ['directoryRoles']);

const link = (base: string, query: string) => `${base}/directoryRoles/delta?${query}`;

function roleEntity(role: DirectoryRoleObject): Record<string, unknown> {
  return {
    id: role.id,
    description: role.description,
    displayName: role.displayName,
    roleTemplateId: role.roleTemplateId,
  };
}

function rolesDelta(r: GraphRequest): void {
  const tenant = r.principal.tenant;
  const now = r.ctx.state.now();
  const fail = (status: number, code: string, message: string, extra?: Record<string, string>) =>
    sendGraphError(r.ex, status, code, message, now, extra);
  if (!hasPermission(r.principal, allowed, allowed))
    return fail(403, 'Authorization_RequestDenied', graphErrors.insufficientPrivileges);
  const changes = changesOf(tenant);
  const token = r.query.get('$skiptoken') || r.query.get('$deltatoken') || null;
  let s: RoleDeltaState;
  if (token !== null) {
    const parsed = decode(token);
    if (!parsed || parsed.t !== tenant.id) return fail(400, 'BadRequest', 'Invalid delta or skip token.');
    const reset = parsed.e !== changes.epoch;
    if (now - parsed.i > DELTA_TOKEN_LIFETIME_MS || (reset && changes.resetAnswer === 'syncStateNotFound')) {
      return fail(
        400,
        'syncStateNotFound',
        'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
      );
    }
    if (reset) {
      return fail(
        410,
        'resyncRequired',
        'The delta token is no longer valid, and the app must reset the sync state.',
        { Location: link(r.base, `${parsed.s ? `$select=${parsed.s.join(',')}&` : ''}$deltatoken=`) },
      );
    }
    s = r.query.has('$deltatoken') ? { ...parsed, u: changes.seq, a: undefined } : parsed;
    if (r.query.has('$deltatoken')) delete s.f;
  } else {
    const select = parseSelect(r.query, properties, 'microsoft.graph.directoryRole');
    if ('error' in select) return fail(400, 'BadRequest', select.error);
    s = firstRound('directoryRoles', tenant.id, select.properties, changes, now);
  }
  const { value, next } = page(tenant, s, knobsOf(r.ctx.state).pageSize);
  sendGraph(r.ex, 200, {
    '@odata.context': collectionContext(r.base, 'directoryRoles', s.s ?? undefined),
    ...(next
      ? { '@odata.nextLink': link(r.base, `$skiptoken=${encode(next)}`) }
      : {
          '@odata.deltaLink': link(
            r.base,
            `$deltatoken=${encode({ k: 'directoryRoles', t: tenant.id, s: s.s, q: s.u, u: s.u, e: s.e, i: now })}`,
          ),
        }),
    value,
  });
}

function page(tenant: DirectoryTenant, s: RoleDeltaState, pageSize: number) {
  const withMembers = s.s === null || s.s.includes('members');
  const log = roleLogOf(tenant);
  const entries: { role: DirectoryRoleObject; members: { id: string; removed: boolean }[] }[] = [];
  const roles = [...tenant.directoryRoles].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const role of roles) {
    if (s.a !== undefined && role.id <= s.a) continue;
    if (s.f) {
      const members = tenant.users
        .filter((u) => u.roleTemplateIds.includes(role.roleTemplateId))
        .map((u) => ({ id: u.id, removed: false }));
      entries.push({ role, members });
      continue;
    }
    // The last change of each member within the round.
    const last = new Map<string, boolean>();
    for (const m of log) {
      if (m.roleTemplateId === role.roleTemplateId && m.version > s.q && m.version <= s.u)
        last.set(m.memberId, m.removed);
    }
    if (last.size === 0) continue;
    entries.push({ role, members: [...last].map(([id, removed]) => ({ id, removed })) });
  }
  const taken = entries.slice(0, pageSize);
  const value = taken.map((e) => ({
    ...project(roleEntity(e.role), s.s?.filter((p) => p !== 'members').concat('id'), [
      'description',
      'displayName',
      'roleTemplateId',
      'id',
    ]),
    ...(withMembers
      ? {
          'members@delta': e.members.map((m) => ({
            '@odata.type': '#microsoft.graph.user',
            id: m.id,
            ...(m.removed ? { '@removed': { reason: 'deleted' } } : {}),
          })),
        }
      : {}),
  }));
  const lastRole = taken[taken.length - 1];
  return {
    value,
    ...(entries.length > taken.length && lastRole ? { next: { ...s, a: lastRole.role.id } } : {}),
  };
}

export const roleRoutes: GraphRoute[] = [
  { method: 'GET', pattern: /^\/directoryRoles\/delta(?:\(\))?$/, handler: rolesDelta },
];
