import type { DirectoryTenant } from '../state';
import { hasPermission } from './auth';
import { graphErrors, sendGraph, sendGraphError } from './errors';
import { collectionContext, entityContext, parseSelect, project } from './odata';
import type { GraphRequest, GraphRoute } from './types';

/** GET /organization and /organization/{id}: the caller's tenant. */

const organizationProperties = [
  'id',
  'deletedDateTime',
  'businessPhones',
  'city',
  'country',
  'countryLetterCode',
  'createdDateTime',
  'displayName',
  'marketingNotificationEmails',
  'onPremisesLastSyncDateTime',
  'onPremisesSyncEnabled',
  'postalCode',
  'preferredLanguage',
  'privacyProfile',
  'securityComplianceNotificationMails',
  'securityComplianceNotificationPhones',
  'state',
  'street',
  'technicalNotificationMails',
  'tenantType',
  'assignedPlans',
  'provisionedPlans',
  'verifiedDomains',
] as const;

function organizationEntity(t: DirectoryTenant): Record<string, unknown> {
  return {
    id: t.id,
    deletedDateTime: null,
    businessPhones: [],
    city: null,
    country: null,
    countryLetterCode: t.countryLetterCode,
    createdDateTime: t.createdDateTime,
    displayName: t.displayName,
    marketingNotificationEmails: [],
    onPremisesLastSyncDateTime: null,
    onPremisesSyncEnabled: null,
    postalCode: null,
    preferredLanguage: 'en',
    privacyProfile: null,
    securityComplianceNotificationMails: [],
    securityComplianceNotificationPhones: [],
    state: null,
    street: null,
    technicalNotificationMails: [],
    tenantType: t.tenantType,
    assignedPlans: [],
    provisionedPlans: [],
    verifiedDomains: t.verifiedDomains.map((d) => ({
      capabilities: d.capabilities,
      isDefault: d.isDefault,
      isInitial: d.isInitial,
      name: d.name,
      type: d.type,
    })),
  };
}

const delegated = [
  'User.Read',
  'Organization.Read.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
  'User.Read.All',
];
const application = [
  'Organization.Read.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
  'Organization.ReadWrite.All',
];

function listOrganization(r: GraphRequest): void {
  if (!hasPermission(r.principal, delegated, application)) {
    return sendGraphError(
      r.ex,
      403,
      'Authorization_RequestDenied',
      graphErrors.insufficientPrivileges,
      r.ctx.state.now(),
    );
  }
  const select = parseSelect(r.query, organizationProperties, 'microsoft.graph.organization');
  if ('error' in select) return sendGraphError(r.ex, 400, 'BadRequest', select.error, r.ctx.state.now());
  const id = r.params[0];
  const entity = project(organizationEntity(r.principal.tenant), select.properties, organizationProperties);
  if (id === undefined) {
    return sendGraph(r.ex, 200, {
      '@odata.context': collectionContext(r.base, 'organization', select.properties),
      value: [entity],
    });
  }
  if (id.toLowerCase() !== r.principal.tenant.id) {
    return sendGraphError(r.ex, 404, 'Request_ResourceNotFound', graphErrors.notFound(id), r.ctx.state.now());
  }
  sendGraph(r.ex, 200, {
    '@odata.context': entityContext(r.base, 'organization', select.properties),
    ...entity,
  });
}

export const organizationRoutes: GraphRoute[] = [
  { method: 'GET', pattern: /^\/organization$/, handler: listOrganization },
  { method: 'GET', pattern: /^\/organization\/([^/]+)$/, handler: listOrganization },
];
