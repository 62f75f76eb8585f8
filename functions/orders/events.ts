import { operatorOf } from '../../shared/http/actor';
import { queryOf } from '../../shared/http/requests';
import { handled, json } from '../../shared/http/responses';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

/** An event's status, result and errors: the link in the webhook's 202, for the ordering system and operators. */
export const getOrderEvent = http({
  name: 'getOrderEvent',
  route: 'api/orders/events/{id}',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async (request) => json(200, await services().orders.events.get(request.params.id ?? ''))),
});

export const listOrderEvents = http({
  name: 'listOrderEvents',
  route: 'api/orders/events',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async (request) => json(200, await services().orders.events.list(queryOf(request)))),
});

/** An operator puts a failed event back in the queue (after fixing what it waited for). */
export const retryOrderEvent = http({
  name: 'retryOrderEvent',
  route: 'api/orders/events/{id}/retry',
  methods: ['POST'],
  authLevel: 'function',
  handler: handled(async (request) =>
    json(202, await services().orders.events.retry(request.params.id ?? '', operatorOf(request))),
  ),
});
