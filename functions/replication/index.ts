import { syncDue } from '../../shared/replication/rules';
import { services } from '../../shared/services';
import type { Trigger } from '../../shared/triggers';
import { scheduled, worker } from '../platform';
import { syncWake } from '../../shared/replication/queues';
import { replicationReads } from './reads';
import { receiveGraphLifecycle, receiveGraphNotifications } from './notifications';
import { changeTriggers } from './changes';

/** One delta sync of one tenant: drains everything asked of it (timer, notifications, operators) in one run. */
export const replicateTenant = worker({
  name: 'replicateTenant',
  message: syncWake,
  handle: ({ key }, job) => services().replication.handle(key, job.owner, job.log),
});

/**
 * Every minute, fanning out every REPLICATION_SYNC_MINUTES (default 5): one sync request per active,
 * consented customer; suspended, cancelled and needs-consent customers are skipped and counted by reason.
 */
export const replicationFanOut = scheduled({
  name: 'replicationFanOut',
  schedule: '0 * * * * *',
  run: async (log) => {
    const s = services();
    const now = s.now();
    if (!syncDue(now, s.config.replication.syncMinutes)) return { outcome: 'not_due' };
    return { ...(await s.replication.fanOutAll(log, now)) };
  },
});

export const replicationTriggers: Trigger[] = [
  replicateTenant,
  replicationFanOut,
  receiveGraphNotifications,
  receiveGraphLifecycle,
  ...replicationReads,
  ...changeTriggers,
];
