import { deliverCallback } from '../../shared/outbox';
import { services } from '../../shared/services';
import type { Trigger } from '../../shared/triggers';
import { worker } from '../platform';

/** One delivery attempt of a status callback to the ordering system. */
export const deliverOrderCallback = worker({
  name: 'deliverOrderCallback',
  message: deliverCallback,
  handle: async ({ callbackId }, job) => ({
    callbackId,
    outcome: await services().outbox.deliver(callbackId, job.log),
  }),
});

export const outboxTriggers: Trigger[] = [deliverOrderCallback];
