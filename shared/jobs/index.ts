import type { Clock } from '../clock';
import type { AuditLog } from '../storage/audit';
import type { StorageClients } from '../storage/clients';
import type { QueueSender } from '../storage/queue-sender';
import { createDueIndex, type DueIndex } from './due';
import { createLeases, type Leases } from './leases';
import { createMailbox, type Mailbox, type MailboxDefinition } from './mailbox';
import { createMaintenance, type Maintenance } from './maintenance';
import { createJobRepositories, type JobRepositories } from './repositories';
import { createRuns, type Runs } from './runs';

export { fanOut, pagesOf, type FanOutResult } from './fan-out';
export { defineMessage, type MessageDefinition } from './queues';
export { backoffSeconds } from './rules';
export { WorkTable } from './work-table';
export type { DueIndex, DueOutcome } from './due';
export type { Leases } from './leases';
export type { Mailbox } from './mailbox';
export type { Runs, RunView } from './runs';
export type { Maintenance } from './maintenance';
export type { MaintenanceView } from './views';

/** The background-work platform, wired: what capabilities build their workers from. */
export interface Jobs {
  repos: JobRepositories;
  leases: Leases;
  due: DueIndex;
  maintenance: Maintenance;
  mailbox<P>(definition: MailboxDefinition<P>): Mailbox<P>;
  /** Runs of fanned-out work an operator asked for, with their progress (`GET /api/jobs/{id}`). */
  runs: Runs;
}

export function createJobs(deps: {
  storage: StorageClients;
  queues: QueueSender;
  audit: AuditLog;
  now: Clock;
  /** While paused, how long a held message waits before it looks at the switch again. */
  pausedRetrySeconds: number;
}): Jobs {
  const repos = createJobRepositories(deps.storage);
  const leases = createLeases({ repos, now: deps.now });
  const due = createDueIndex({ repos, now: deps.now });
  return {
    repos,
    leases,
    due,
    maintenance: createMaintenance({
      repos,
      storage: deps.storage,
      leases,
      audit: deps.audit,
      now: deps.now,
      holdSeconds: deps.pausedRetrySeconds,
    }),
    runs: createRuns({ storage: deps.storage, now: deps.now }),
    mailbox: (definition) =>
      createMailbox(definition, { repos, leases, due, queues: deps.queues, now: deps.now }),
  };
}
