import { expiring } from '../cache';
import type { Clock } from '../clock';
import type { AuditLog } from '../storage/audit';
import type { StorageClients } from '../storage/clients';
import { DependencyError } from '../errors';
import { describeRestError } from '../rest-error';
import type { Leases } from './leases';
import type { MaintenanceState } from './model';
import type { MaintenanceView } from './views';
import { STATE_PARTITION, type JobRepositories } from './repositories';

/**
 * The pause switch: the seeds' "stop provisioning, wait for the queues to drain, upgrade, start
 * provisioning" made safe. While paused, work is still accepted and stored (the webhook answers 202,
 * operators can create customers), but no worker or timer executes it: queue workers put their
 * message back with a delay, timers skip their run. Resume, and the held messages come back within
 * that delay; the sweep makes good anything else.
 */
export interface Maintenance {
  /** While paused, how long a held message waits before it looks at the switch again. */
  readonly holdSeconds: number;
  /** Whether workers and timers should hold off (read at most every few seconds per instance). */
  isPaused(): Promise<boolean>;
  pause(actor: string, reason?: string): Promise<MaintenanceState>;
  resume(actor: string): Promise<MaintenanceState>;
  view(queueNames: string[]): Promise<MaintenanceView>;
}

/** How stale an instance's idea of the switch may be: pausing takes effect everywhere within this. */
export const PAUSE_CHECK_MS = 5000;

export function createMaintenance(deps: {
  repos: JobRepositories;
  storage: StorageClients;
  leases: Leases;
  audit: AuditLog;
  now: Clock;
  holdSeconds: number;
}): Maintenance {
  const repo = deps.repos.maintenance;
  const read = async () => (await repo.get(STATE_PARTITION, 'maintenance'))?.value;
  const state = expiring(read, { ttlMs: PAUSE_CHECK_MS });

  const set = async (paused: boolean, actor: string, reason?: string) => {
    const at = deps.now().toISOString();
    const current = await read();
    if (current?.paused === paused) return current;
    const next: MaintenanceState = {
      name: 'maintenance',
      paused,
      since: at,
      by: actor,
      ...(reason ? { reason } : {}),
      updatedAt: at,
    };
    await repo.upsert(next);
    state.clear();
    await deps.audit.record({
      actor,
      action: paused ? 'maintenance.paused' : 'maintenance.resumed',
      details: reason ? { reason } : {},
    });
    return next;
  };

  const countMessages = async (name: string) => {
    try {
      const props = await deps.storage.queue(name).getProperties();
      return props.approximateMessagesCount ?? 0;
    } catch (e) {
      // A queue nobody has written to yet does not exist: nothing waits in it.
      if ((e as { statusCode?: number }).statusCode === 404) return 0;
      throw new DependencyError('storage', `queue ${name}: ${describeRestError(e)}`, { cause: e });
    }
  };

  return {
    holdSeconds: deps.holdSeconds,
    isPaused: async () => (await state.get())?.paused === true,
    pause: (actor, reason) => set(true, actor, reason),
    resume: (actor) => set(false, actor),
    async view(queueNames) {
      const current = await read();
      const queues = await Promise.all(
        queueNames.map(async (name) => ({
          name,
          messages: await countMessages(name),
          poison: await countMessages(`${name}-poison`),
        })),
      );
      const inFlight = await Promise.all(
        deps.leases.scopes().map(async (scope) => ({ scope, keys: (await deps.leases.held(scope)).length })),
      );
      return {
        paused: current?.paused === true,
        since: current?.since ?? null,
        by: current?.by ?? null,
        reason: current?.reason ?? null,
        queues,
        inFlight,
      };
    },
  };
}
