import { applyOrderEvent } from '../../shared/orders/queues';
import { services } from '../../shared/services';
import { worker } from '../platform';

/** Applies stored order events; the message carries only the event id, the row holds the truth. */
export const processOrderEvent = worker({
  name: 'processOrderEvent',
  message: applyOrderEvent,
  handle: async ({ eventId }, job) => ({
    eventId,
    outcome: await services().orders.processor.process(eventId, job.log, job.owner),
  }),
});
