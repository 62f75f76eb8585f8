import { createJobTriggers } from '../shared/jobs/triggers';
import { services } from '../shared/services';

/**
 * The wrappers every queue worker and timer of the app goes through (see shared/jobs/triggers.ts),
 * bound to the process's services.
 */
export const { worker, scheduled } = createJobTriggers(() => ({
  maintenance: services().jobs.maintenance,
  queues: services().queues,
}));
