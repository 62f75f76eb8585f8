import { changesOf, type DirectoryGroup } from '../directory';
import { hasPermission } from './auth';
import { graphErrors, sendGraph, sendGraphError } from './errors';
import { collectionContext, parseSelect, project } from './odata';
import type { GraphRequest, GraphRoute } from './types';
import { defaultUserProperties, selectableUserProperties, userEntity } from './users';
import { groupProperties as deltaGroupProperties } from './delta';

/**
 * Plain collections, as a client without delta pages through them: GET /users, /groups and
 * /groups/{id}/members, `$top` (default 100, at most 999) and `$select`, each page linked to the next
 * by an opaque `$skiptoken` in `@odata.nextLink` (what the SDK's PageIterator follows).
 */

const readAll = ['Directory.Read.All', 'Directory.ReadWrite.All'];
const usersRead = ['User.ReadBasic.All', 'User.Read.All', 'User.ReadWrite.All', ...readAll];
const groupsRead = ['Group.Read.All', 'Group.ReadWrite.All', 'GroupMember.Read.All', ...readAll];
/** A group's properties outside delta: all but `members` (a delta-only annotation). */
const groupProperties = deltaGroupProperties.filter((p) => p !== 'members');

function page<T>(r: GraphRequest, items: T[], entitySet: string, render: (item: T) => unknown): void {
  const now = r.ctx.state.now();
  const topRaw = r.query.get('$top');
  const top = topRaw === null ? 100 : Number(topRaw);
  if (!Number.isInteger(top) || top < 1 || top > 999) {
    return sendGraphError(r.ex, 400, 'Request_BadRequest', `Invalid page size specified: '${topRaw}'.`, now);
  }
  const skip = Number(Buffer.from(r.query.get('$skiptoken') ?? '', 'base64url').toString() || '0');
  const from = Number.isInteger(skip) && skip >= 0 ? skip : 0;
  const taken = items.slice(from, from + top);
  const next = new URL(r.ex.url.href);
  next.searchParams.set('$skiptoken', Buffer.from(String(from + top)).toString('base64url'));
  const path = `${r.base}${r.ex.url.pathname.replace(/^\/v1\.0/i, '')}`;
  sendGraph(r.ex, 200, {
    '@odata.context': collectionContext(r.base, entitySet),
    ...(from + top < items.length ? { '@odata.nextLink': `${path}${next.search}` } : {}),
    value: taken.map(render),
  });
}

function listUsers(r: GraphRequest): void {
  const now = r.ctx.state.now();
  if (!hasPermission(r.principal, usersRead, usersRead))
    return sendGraphError(r.ex, 403, 'Authorization_RequestDenied', graphErrors.insufficientPrivileges, now);
  const select = parseSelect(r.query, selectableUserProperties, 'microsoft.graph.user');
  if ('error' in select) return sendGraphError(r.ex, 400, 'BadRequest', select.error, now);
  const tenant = r.principal.tenant;
  const changes = changesOf(tenant);
  const props = select.properties ? [...new Set([...select.properties, 'id'])] : [...defaultUserProperties];
  page(r, tenant.users, 'users', (u) => project(userEntity(u, changes), props, defaultUserProperties));
}

const groupEntity = (g: DirectoryGroup) =>
  Object.fromEntries(groupProperties.map((p) => [p, (g as unknown as Record<string, unknown>)[p] ?? null]));

function listGroups(r: GraphRequest): void {
  const now = r.ctx.state.now();
  if (!hasPermission(r.principal, groupsRead, groupsRead))
    return sendGraphError(r.ex, 403, 'Authorization_RequestDenied', graphErrors.insufficientPrivileges, now);
  page(r, changesOf(r.principal.tenant).groups, 'groups', groupEntity);
}

function listMembers(r: GraphRequest): void {
  const now = r.ctx.state.now();
  if (!hasPermission(r.principal, groupsRead, groupsRead))
    return sendGraphError(r.ex, 403, 'Authorization_RequestDenied', graphErrors.insufficientPrivileges, now);
  const id = r.params[0] ?? '';
  const group = changesOf(r.principal.tenant).groups.find((g) => g.id === id);
  if (!group) return sendGraphError(r.ex, 404, 'Request_ResourceNotFound', graphErrors.notFound(id), now);
  page(r, group.members, 'directoryObjects', (m) => ({ '@odata.type': '#microsoft.graph.user', id: m }));
}

export const listRoutes: GraphRoute[] = [
  { method: 'GET', pattern: /^\/users$/, handler: listUsers },
  { method: 'GET', pattern: /^\/groups$/, handler: listGroups },
  { method: 'GET', pattern: /^\/groups\/([^/]+)\/members$/, handler: listMembers },
];
