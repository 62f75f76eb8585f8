import type { QueueSender } from '../storage/queue-sender';
import type { TableRepository } from '../storage/table-repository';
import { addSeconds } from './backoff';
import { CALLBACK_QUEUE } from './callbacks';
import { ORDERS_QUEUE, QUEUED_GRACE_SECONDS } from './intake';
import { errorText, type OrdersLog } from './log';
import { partitionOf, type OrderRepositories } from './repositories';

/**
 * The safety net under the queues: every event or callback that is not final has a `dueAt`, and
 * whatever is past it (never queued because the queue was down, a message that went to poison, a
 * worker that died holding it) is queued again. Running it twice is harmless: processing is
 * idempotent, and `dueAt` is pushed forward before the message is sent.
 */
export interface SweepResult {
  events: number;
  callbacks: number;
}

/** Per run, so one sweep stays short even after a long outage; the next run takes the rest. */
const MAX_PER_RUN = 500;

export function createOrderSweep(deps: { repos: OrderRepositories; queues: QueueSender; now: () => Date }) {
  const { events, callbacks } = deps.repos;

  /**
   * Queues again each row past its `dueAt`. The row's `dueAt` is pushed forward first, with its ETag,
   * so of two sweeps that find the same row only one queues it.
   */
  async function requeue<T extends { id: string; dueAt?: string | undefined }>(
    repo: TableRepository<T>,
    filter: string,
    bump: (row: T) => T,
    send: (id: string) => Promise<void>,
    log: OrdersLog,
    what: 'event' | 'callback',
  ): Promise<number> {
    let count = 0;
    for await (const row of repo.listAll({ filter })) {
      if (count >= MAX_PER_RUN) break;
      const { id, dueAt } = row.value;
      try {
        const bumped = await repo.mutate(partitionOf(id), id, (r) =>
          r.dueAt === dueAt ? bump(r) : undefined,
        );
        if (!bumped || bumped.value.dueAt === dueAt) continue;
        await send(id);
        count++;
        log.warn(`order_${what}_requeued`, { [`${what}Id`]: id, dueAt });
      } catch (e) {
        log.error('order_sweep_failed', { [`${what}Id`]: id, error: errorText(e) });
      }
    }
    return count;
  }

  return {
    async run(log: OrdersLog): Promise<SweepResult> {
      const due = `dueAt lt '${deps.now().toISOString()}'`;
      const later = () => addSeconds(deps.now(), QUEUED_GRACE_SECONDS);
      const eventCount = await requeue(
        events,
        due,
        (e) => ({ ...e, status: e.status === 'received' ? 'queued' : e.status, dueAt: later() }),
        (eventId) => deps.queues.send(ORDERS_QUEUE, { eventId }),
        log,
        'event',
      );
      const callbackCount = await requeue(
        callbacks,
        `${due} and status eq 'pending'`,
        (c) => ({ ...c, dueAt: later() }),
        (callbackId) => deps.queues.send(CALLBACK_QUEUE, { callbackId }),
        log,
        'callback',
      );
      return { events: eventCount, callbacks: callbackCount };
    },
  };
}
export type OrderSweep = ReturnType<typeof createOrderSweep>;
