import { pageOf } from '../../http/paging';
import {
  groupDetailViewSchema,
  groupViewSchema,
  syncStateViewSchema,
  userDetailViewSchema,
  userListItemSchema,
} from '../../replication/views';
import {
  errorResponse,
  fromZod,
  functionKey,
  jsonResponse,
  pagingParams,
  pathParam,
  queryParam,
  type JsonSchema,
  type Operation,
  type PathItem,
} from '../schema';

/** Replication's read API: the replicated users, groups and memberships of a tenant, and its sync state. */
const customerId = pathParam('id', 'The customer id.');
const guid: JsonSchema = { type: 'string', format: 'uuid' };
const paging = pagingParams;
const read = (
  operationId: string,
  summary: string,
  parameters: JsonSchema[],
  ok: [string, JsonSchema],
): Operation => ({
  operationId,
  tags: ['Replication'],
  summary,
  security: functionKey,
  parameters,
  responses: {
    '200': jsonResponse(ok[0], ok[1]),
    ...(parameters.some((p) => p.in === 'query') ? { '400': errorResponse('BadRequest') } : {}),
    '401': errorResponse('Unauthorized'),
    '404': errorResponse('NotFound'),
  },
});

export const replicationPaths: Record<string, PathItem> = {
  '/api/customers/{id}/users': {
    get: read(
      'listTenantUsers',
      "The tenant's users as last replicated, with licence names; search is a prefix of the display name or sign-in name.",
      [
        customerId,
        queryParam('search', 'Start of a display name or sign-in name (not case-sensitive).', {
          type: 'string',
          minLength: 1,
          maxLength: 100,
        }),
        ...paging,
      ],
      ['One page of users.', fromZod(pageOf(userListItemSchema))],
    ),
  },
  '/api/customers/{id}/users/{userId}': {
    get: read(
      'getTenantUser',
      'One replicated user with licence names and the groups they belong to.',
      [customerId, pathParam('userId', 'The user object id.', guid)],
      ['The user.', fromZod(userDetailViewSchema)],
    ),
  },
  '/api/customers/{id}/groups': {
    get: read(
      'listTenantGroups',
      "The tenant's groups as last replicated.",
      [customerId, ...paging],
      ['One page of groups.', fromZod(pageOf(groupViewSchema))],
    ),
  },
  '/api/customers/{id}/groups/{groupId}': {
    get: read(
      'getTenantGroup',
      'One replicated group with one page of its member ids.',
      [customerId, pathParam('groupId', 'The group object id.', guid), ...paging],
      ['The group and a page of members.', fromZod(groupDetailViewSchema)],
    ),
  },
  '/api/customers/{id}/sync': {
    get: read(
      'getSyncState',
      "The tenant's replication state: last run, duration, counts, result, last error, and licence counts against what was ordered.",
      [customerId],
      ['The sync state.', fromZod(syncStateViewSchema)],
    ),
  },
};
