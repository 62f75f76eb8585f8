import { operatorOf } from '../../shared/http/actor';
import { readJson } from '../../shared/http/requests';
import { handled, json } from '../../shared/http/responses';
import { definedQueues } from '../../shared/jobs/queues';
import { pauseRequestSchema } from '../../shared/jobs/views';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

/** What is paused, what waits in each queue, and what holds a lease right now. */
const view = () => services().jobs.maintenance.view(definedQueues());

export const getMaintenance = http({
  name: 'getMaintenance',
  route: 'api/maintenance',
  methods: ['GET'],
  authLevel: 'function',
  handler: handled(async () => json(200, await view())),
});

/**
 * Stops executing background work (accepted work is still stored and queued). The body is optional:
 * `{ "reason": "…" }` goes to the audit log.
 */
export const pauseMaintenance = http({
  name: 'pauseMaintenance',
  route: 'api/maintenance/pause',
  methods: ['POST'],
  authLevel: 'function',
  handler: handled(async (request) => {
    const reason = request.headers.get('content-type')
      ? (await readJson(request, pauseRequestSchema)).value.reason
      : undefined;
    await services().jobs.maintenance.pause(operatorOf(request), reason);
    return json(200, await view());
  }),
});

/** Executes background work again: held messages come back within half a minute. */
export const resumeMaintenance = http({
  name: 'resumeMaintenance',
  route: 'api/maintenance/resume',
  methods: ['POST'],
  authLevel: 'function',
  handler: handled(async (request) => {
    await services().jobs.maintenance.resume(operatorOf(request));
    return json(200, await view());
  }),
});
