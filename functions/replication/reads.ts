import type { HttpRequest } from '@azure/functions';
import { pagingQuerySchema } from '../../shared/http/paging';
import { parseWith, queryOf } from '../../shared/http/requests';
import { handled, json } from '../../shared/http/responses';
import { userQuerySchema } from '../../shared/replication/views';
import { services } from '../../shared/services';
import { http, type Trigger } from '../../shared/triggers';

/** The operators' read API over a replicated tenant: users, one user, groups, one group, sync state. */
const read = (name: string, route: string, fn: (request: HttpRequest, id: string) => Promise<unknown>) =>
  http({
    name,
    route,
    methods: ['GET'],
    authLevel: 'function',
    handler: handled(async (request) => json(200, await fn(request, request.params.id ?? ''))),
  });
const paging = (request: HttpRequest) => parseWith(pagingQuerySchema, queryOf(request), 'query');
const replication = () => services().replication;

export const replicationReads: Trigger[] = [
  read('listTenantUsers', 'api/customers/{id}/users', (r, id) =>
    replication().listUsers(id, parseWith(userQuerySchema, queryOf(r), 'query')),
  ),
  read('getTenantUser', 'api/customers/{id}/users/{userId}', (r, id) =>
    replication().getUser(id, r.params.userId ?? ''),
  ),
  read('listTenantGroups', 'api/customers/{id}/groups', (r, id) => replication().listGroups(id, paging(r))),
  read('getTenantGroup', 'api/customers/{id}/groups/{groupId}', (r, id) =>
    replication().getGroup(id, r.params.groupId ?? '', paging(r)),
  ),
  read('getSyncState', 'api/customers/{id}/sync', (_r, id) => replication().syncState(id)),
];
