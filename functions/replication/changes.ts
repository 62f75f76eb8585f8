import { z } from 'zod';
import { operatorOf } from '../../shared/http/actor';
import { queryOf, readJson } from '../../shared/http/requests';
import { handled, json } from '../../shared/http/responses';
import { pushWake } from '../../shared/replication';
import { services } from '../../shared/services';
import { http, type Trigger } from '../../shared/triggers';
import { worker } from '../platform';

/**
 * Changes back to Microsoft 365: operators queue user edits, list them with their status, and ask
 * for a push now; the worker pushes one tenant's due changes at a time.
 */
const changes = () => services().replication.changes;

export const pushTenantChanges = worker({
  name: 'pushTenantChanges',
  message: pushWake,
  handle: ({ key }, job) => changes().handle(key, job.owner, job.log),
});

export const queueChanges = http({
  name: 'queueChanges',
  route: 'api/customers/{id}/changes',
  methods: ['POST'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const { value } = await readJson(request, z.unknown());
    const queued = await changes().enqueue(request.params.id ?? '', value, operatorOf(request));
    return json(202, queued, { location: queued.links.changes });
  }),
});

export const listChanges = http({
  name: 'listChanges',
  route: 'api/customers/{id}/changes',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async (request) =>
    json(200, await changes().list(request.params.id ?? '', queryOf(request))),
  ),
});

export const replicateCustomer = http({
  name: 'replicateCustomer',
  route: 'api/customers/{id}/replicate',
  methods: ['POST'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const answer = await changes().replicate(request.params.id ?? '', operatorOf(request));
    return json(202, answer, { location: answer.links.changes });
  }),
});

export const changeTriggers: Trigger[] = [pushTenantChanges, queueChanges, listChanges, replicateCustomer];
