import type { QueueSender } from '../storage/queue-sender';
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
  return {
    async run(log: OrdersLog): Promise<SweepResult> {
      const now = deps.now();
      const due = `dueAt lt '${now.toISOString()}'`;
      const result: SweepResult = { events: 0, callbacks: 0 };
      for await (const row of events.listAll({ filter: due })) {
        if (result.events >= MAX_PER_RUN) break;
        try {
          const bumped = await events.mutate(partitionOf(row.value.id), row.value.id, (e) =>
            e.dueAt === row.value.dueAt
              ? {
                  ...e,
                  status: e.status === 'received' ? 'queued' : e.status,
                  dueAt: addSeconds(deps.now(), QUEUED_GRACE_SECONDS),
                }
              : undefined,
          );
          if (!bumped || bumped.value.dueAt === row.value.dueAt) continue;
          await deps.queues.send(ORDERS_QUEUE, { eventId: row.value.id });
          result.events++;
          log.warn('order_event_requeued', {
            eventId: row.value.id,
            status: row.value.status,
            dueAt: row.value.dueAt,
          });
        } catch (e) {
          log.error('order_sweep_failed', { eventId: row.value.id, error: errorText(e) });
        }
      }
      for await (const row of callbacks.listAll({ filter: `${due} and status eq 'pending'` })) {
        if (result.callbacks >= MAX_PER_RUN) break;
        try {
          const bumped = await callbacks.mutate(partitionOf(row.value.id), row.value.id, (c) =>
            c.dueAt === row.value.dueAt
              ? { ...c, dueAt: addSeconds(deps.now(), QUEUED_GRACE_SECONDS) }
              : undefined,
          );
          if (!bumped || bumped.value.dueAt === row.value.dueAt) continue;
          await deps.queues.send(CALLBACK_QUEUE, { callbackId: row.value.id });
          result.callbacks++;
          log.warn('order_callback_requeued', { callbackId: row.value.id, dueAt: row.value.dueAt });
        } catch (e) {
          log.error('order_sweep_failed', { callbackId: row.value.id, error: errorText(e) });
        }
      }
      return result;
    },
  };
}
export type OrderSweep = ReturnType<typeof createOrderSweep>;
