import { policyId, teamsPaging, voiceOf } from '../directory-voice';
import type { DirectoryTenant, DirectoryUser } from '../state';
import { hasPermission } from './auth';
import { graphErrors, sendGraph, sendGraphError } from './errors';
import { parseSelect, project } from './odata';
import type { GraphRequest, GraphRoute } from './types';

/**
 * Teams user configurations (microsoft.graph.teamsAdministration.teamsUserConfiguration, v1.0):
 * `GET /admin/teams/userConfigurations` (every Teams user of the tenant, paged by
 * `@odata.nextLink`, `$top` and `$select`) and `GET /admin/teams/userConfigurations/{userId}`.
 * Permission `TeamsUserConfiguration.Read.All`, delegated or application, nothing higher (the
 * documented permission tables). Items have the documented properties; the single read answers in
 * the documented sample's envelope (`{ value: { … } }`), which clients should accept besides a bare
 * entity. No delta exists for this resource.
 */

const permission = ['TeamsUserConfiguration.Read.All'];

const properties = [
  'id',
  'userPrincipalName',
  'tenantId',
  'effectivePolicyAssignments',
  'telephoneNumbers',
  'isEnterpriseVoiceEnabled',
  'featureTypes',
  'accountType',
  'createdDateTime',
  'modifiedDateTime',
] as const;
const typeName = 'microsoft.graph.teamsAdministration.teamsUserConfiguration';

export function userConfiguration(tenant: DirectoryTenant, user: DirectoryUser): Record<string, unknown> {
  const voice = voiceOf(tenant)[user.id];
  const policies = Object.entries(voice?.policies ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return {
    id: user.id,
    userPrincipalName: user.userPrincipalName,
    tenantId: tenant.id,
    effectivePolicyAssignments: policies.map(([policyType, name]) => ({
      policyType,
      policyAssignment: {
        displayName: name,
        assignmentType: 'direct',
        policyId: policyId(tenant.id, policyType, name),
      },
    })),
    telephoneNumbers: voice?.telephoneNumbers ?? [],
    isEnterpriseVoiceEnabled: voice?.isEnterpriseVoiceEnabled ?? false,
    featureTypes: voice?.isEnterpriseVoiceEnabled ? ['Teams', 'PhoneSystem'] : ['Teams'],
    accountType: user.userType === 'Guest' ? 'guest' : 'user',
    createdDateTime: user.createdDateTime,
    modifiedDateTime: voice?.modifiedDateTime ?? user.createdDateTime,
  };
}

function refuse(r: GraphRequest, status: number, code: string, message: string): void {
  sendGraphError(r.ex, status, code, message, r.ctx.state.now());
}

function listUserConfigurations(r: GraphRequest): void {
  if (!hasPermission(r.principal, permission, permission))
    return refuse(r, 403, 'Forbidden', graphErrors.insufficientPrivileges);
  for (const unsupported of ['$filter', '$orderby', '$orderBy', '$expand']) {
    if (r.query.has(unsupported))
      return refuse(r, 400, 'BadRequest', `${unsupported} is not supported by this simulator.`);
  }
  const select = parseSelect(r.query, properties, typeName);
  if ('error' in select) return refuse(r, 400, 'BadRequest', select.error);
  const topRaw = r.query.get('$top');
  const top = topRaw === null ? undefined : Number(topRaw);
  if (top !== undefined && (!Number.isInteger(top) || top < 1))
    return refuse(r, 400, 'BadRequest', `Invalid value '${topRaw}' for $top.`);
  const after = r.query.get('$skiptoken');
  let from: string | undefined;
  if (after !== null) {
    try {
      from = (JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as { a?: unknown }).a as string;
      if (typeof from !== 'string') throw new Error('bad token');
    } catch {
      return refuse(r, 400, 'BadRequest', 'Invalid skip token.');
    }
  }
  const tenant = r.principal.tenant;
  const users = [...tenant.users]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .filter((u) => from === undefined || u.id > from);
  const size = Math.min(top ?? Infinity, teamsPaging(r.ctx.state).pageSize);
  const page = users.slice(0, size);
  const last = page[page.length - 1];
  const next = new URLSearchParams();
  for (const [k, v] of r.query) if (k !== '$skiptoken') next.set(k, v);
  if (last) next.set('$skiptoken', Buffer.from(JSON.stringify({ a: last.id })).toString('base64url'));
  sendGraph(r.ex, 200, {
    '@odata.context': `${r.base}/$metadata#admin/teams/userConfigurations`,
    ...(users.length > page.length && last
      ? { '@odata.nextLink': `${r.base}/admin/teams/userConfigurations?${next.toString()}` }
      : {}),
    value: page.map((u) => project(userConfiguration(tenant, u), withId(select.properties), properties)),
  });
}

const withId = (select: string[] | undefined) =>
  select && !select.includes('id') ? [...select, 'id'] : select;

function getUserConfiguration(r: GraphRequest): void {
  if (!hasPermission(r.principal, permission, permission))
    return refuse(r, 403, 'Forbidden', graphErrors.insufficientPrivileges);
  const select = parseSelect(r.query, properties, typeName);
  if ('error' in select) return refuse(r, 400, 'BadRequest', select.error);
  const id = (r.params[0] ?? '').toLowerCase();
  const user = r.principal.tenant.users.find((u) => u.id === id);
  if (!user) return refuse(r, 404, 'NotFound', graphErrors.notFound(r.params[0] ?? ''));
  sendGraph(r.ex, 200, {
    value: {
      '@odata.context': `${r.base}/$metadata#admin/teams/userConfigurations/$entity`,
      ...project(userConfiguration(r.principal.tenant, user), withId(select.properties), properties),
    },
  });
}

export const teamsRoutes: GraphRoute[] = [
  { method: 'GET', pattern: /^\/admin\/teams\/userConfigurations$/, handler: listUserConfigurations },
  { method: 'GET', pattern: /^\/admin\/teams\/userConfigurations\/([^/]+)$/, handler: getUserConfiguration },
];
