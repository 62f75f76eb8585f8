import { changesOf, type DirectoryChanges } from '../directory';
import type { DirectoryTenant, DirectoryUser } from '../state';
import { hasPermission } from './auth';
import { graphErrors, sendGraph, sendGraphError } from './errors';
import { collectionContext, entityContext, parseSelect, project } from './odata';
import type { GraphRequest, GraphRoute } from './types';

/** GET /me, /users/{id | userPrincipalName}, and their memberOf / transitiveMemberOf (directory roles). */

/** The properties v1.0 returns without $select (Graph's default user set). */
export const defaultUserProperties = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
] as const;

export const selectableUserProperties = [
  ...defaultUserProperties,
  'accountEnabled',
  'assignedLicenses',
  'city',
  'companyName',
  'country',
  'createdDateTime',
  'department',
  'externalUserState',
  'mailNickname',
  'onPremisesSyncEnabled',
  'otherMails',
  'proxyAddresses',
  'signInSessionsValidFromDateTime',
  'usageLocation',
  'userType',
];

export function userEntity(user: DirectoryUser, changes?: DirectoryChanges): Record<string, unknown> {
  return {
    businessPhones: user.businessPhones ?? [],
    displayName: user.displayName,
    givenName: user.givenName,
    jobTitle: user.jobTitle ?? null,
    mail: user.mail,
    mobilePhone: user.mobilePhone ?? null,
    officeLocation: user.officeLocation ?? null,
    preferredLanguage: user.preferredLanguage ?? null,
    surname: user.surname,
    userPrincipalName: user.userPrincipalName,
    id: user.id,
    accountEnabled: user.accountEnabled,
    assignedLicenses: changes?.licenses[user.id] ?? [],
    city: null,
    companyName: null,
    country: null,
    createdDateTime: user.createdDateTime,
    department: user.department ?? null,
    externalUserState: user.userType === 'Guest' ? 'Accepted' : null,
    mailNickname: user.userPrincipalName.split('@')[0] ?? null,
    onPremisesSyncEnabled: changes?.onPremisesSync[user.id] ?? null,
    otherMails: [],
    proxyAddresses: user.mail && user.userType === 'Member' ? [`SMTP:${user.mail}`] : [],
    signInSessionsValidFromDateTime: new Date(user.tokensValidFrom || Date.parse(user.createdDateTime))
      .toISOString()
      .replace(/\.\d+Z$/, 'Z'),
    usageLocation: user.usageLocation ?? null,
    userType: user.userType,
  };
}

const readSelf = ['User.Read', 'User.ReadWrite'];
const readOthersDelegated = [
  'User.ReadBasic.All',
  'User.Read.All',
  'User.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
  'Directory.AccessAsUser.All',
];
const readUsersApplication = [
  'User.Read.All',
  'User.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];
// From the permissions table of "List a user's memberships (direct and transitive)".
const memberOfDelegated = [
  'User.Read',
  'User.Read.All',
  'GroupMember.Read.All',
  'Group.Read.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];
const memberOfApplication = [
  'User.Read.All',
  'GroupMember.Read.All',
  'Group.Read.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];

function denied(r: GraphRequest): void {
  sendGraphError(
    r.ex,
    403,
    'Authorization_RequestDenied',
    graphErrors.insufficientPrivileges,
    r.ctx.state.now(),
  );
}

/** Resolves `me` or an id / UPN in the caller's tenant, answering the error itself when it cannot. */
function target(r: GraphRequest, idOrMe: string): DirectoryUser | undefined {
  const { principal } = r;
  if (idOrMe === 'me') {
    if (principal.userId === undefined) {
      sendGraphError(
        r.ex,
        400,
        'BadRequest',
        '/me request is only valid with delegated authentication flow.',
        r.ctx.state.now(),
      );
      return undefined;
    }
    if (!principal.user) {
      sendGraphError(
        r.ex,
        404,
        'Request_ResourceNotFound',
        graphErrors.notFound(principal.userId),
        r.ctx.state.now(),
      );
      return undefined;
    }
    return principal.user;
  }
  const user = findUser(principal.tenant, idOrMe);
  const self = user !== undefined && user.id === principal.userId;
  const allowed = self
    ? hasPermission(principal, [...readSelf, ...readOthersDelegated], readUsersApplication)
    : hasPermission(principal, readOthersDelegated, readUsersApplication);
  if (!allowed) {
    denied(r);
    return undefined;
  }
  if (!user) {
    sendGraphError(r.ex, 404, 'Request_ResourceNotFound', graphErrors.notFound(idOrMe), r.ctx.state.now());
    return undefined;
  }
  return user;
}

function findUser(tenant: DirectoryTenant, idOrUpn: string): DirectoryUser | undefined {
  const lower = idOrUpn.toLowerCase();
  return tenant.users.find((u) => u.id === lower || u.userPrincipalName.toLowerCase() === lower);
}

function getUser(r: GraphRequest): void {
  const idOrMe = r.params[0] ?? 'me';
  if (idOrMe === 'me' && !hasPermission(r.principal, [...readSelf, ...readOthersDelegated], [])) {
    if (r.principal.userId !== undefined) return denied(r);
  }
  const select = parseSelect(r.query, selectableUserProperties, 'microsoft.graph.user');
  if ('error' in select) return sendGraphError(r.ex, 400, 'BadRequest', select.error, r.ctx.state.now());
  const user = target(r, idOrMe);
  if (!user) return;
  sendGraph(r.ex, 200, {
    '@odata.context': entityContext(r.base, 'users', select.properties),
    ...project(userEntity(user, changesOf(r.principal.tenant)), select.properties, defaultUserProperties),
  });
}

function memberOf(r: GraphRequest): void {
  const idOrMe = r.params[0] ?? 'me';
  const cast = r.params[1];
  if (cast !== undefined && cast !== 'microsoft.graph.directoryRole') {
    // Groups and administrative units come with a later issue; until then there are none.
    if (cast !== 'microsoft.graph.group' && cast !== 'microsoft.graph.administrativeUnit') {
      return sendGraphError(
        r.ex,
        400,
        'BadRequest',
        `Resource not found for the segment '${cast}'.`,
        r.ctx.state.now(),
      );
    }
  }
  if (!hasPermission(r.principal, memberOfDelegated, memberOfApplication)) return denied(r);
  const user = target(r, idOrMe);
  if (!user) return;
  const roles =
    cast === undefined || cast === 'microsoft.graph.directoryRole'
      ? r.principal.tenant.directoryRoles.filter((role) => user.roleTemplateIds.includes(role.roleTemplateId))
      : [];
  const entitySet =
    cast === 'microsoft.graph.directoryRole'
      ? 'directoryRoles'
      : cast === 'microsoft.graph.group'
        ? 'groups'
        : 'directoryObjects';
  sendGraph(r.ex, 200, {
    '@odata.context': collectionContext(r.base, entitySet),
    value: roles.map((role) => ({
      '@odata.type': '#microsoft.graph.directoryRole',
      id: role.id,
      deletedDateTime: null,
      description: role.description,
      displayName: role.displayName,
      roleTemplateId: role.roleTemplateId,
    })),
  });
}

const user = '(me|users/[^/]+)';

function userParam(handler: (r: GraphRequest) => void): (r: GraphRequest) => void {
  // Normalise "users/{id}" to "{id}" so the handlers see "me" or the id.
  return (r) =>
    handler({ ...r, params: [(r.params[0] ?? 'me').replace(/^users\//, ''), ...r.params.slice(1)] });
}

export const userRoutes: GraphRoute[] = [
  { method: 'GET', pattern: new RegExp(`^/${user}$`), handler: userParam(getUser) },
  {
    method: 'GET',
    pattern: new RegExp(`^/${user}/(?:transitiveMemberOf|memberOf)(?:/([^/]+))?$`),
    handler: userParam(memberOf),
  },
];
