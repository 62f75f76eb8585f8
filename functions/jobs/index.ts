import { services } from '../../shared/services';
import type { Trigger } from '../../shared/triggers';
import { scheduled } from '../platform';

/**
 * Every minute: whatever is past its due time (never queued, a message that went to poison, a worker
 * that died holding it) is queued again, and finished work past its retention is deleted. Reads only
 * the due index's hour partitions since its cursor, never a capability's table.
 */
export const sweepDueWork = scheduled({
  name: 'sweepDueWork',
  schedule: '30 * * * * *',
  run: async (log) => {
    const result = await services().jobs.due.sweep(log);
    return { ...result };
  },
});

export const jobsTriggers: Trigger[] = [sweepDueWork];
