import type { AuditLog } from '../storage/audit';
import type { QueueSender } from '../storage/queue-sender';
import { escapeOData } from '../storage/table-repository';
import { addSeconds, backoffSeconds } from './backoff';
import type { OrderCallbacks } from './callbacks';
import { ORDERS_QUEUE } from './intake';
import { errorText, type OrdersLog } from './log';
import { finalEventStatuses, type OrderEvent, type OrderProblem } from './model';
import { partitionOf, type OrderRepositories } from './repositories';

/**
 * How a run of an event ends, written to its row: final (succeeded, failed, rejected: with the
 * audit entry and the ordering system told of a failure), or waiting (retried with back-off until
 * the wait limit). Each write is an ETag update that leaves an event already final alone.
 */
export type ProcessOutcome = 'succeeded' | 'failed' | 'waiting' | 'rejected' | 'busy' | 'skipped' | 'missing';

/** After a waiting event's retry time, how long until the sweep steps in for a lost message. */
const WAITING_GRACE_SECONDS = 300;

export const isFinal = (e: OrderEvent) => finalEventStatuses.includes(e.status);

export function createEventOutcomes(deps: {
  repos: OrderRepositories;
  queues: QueueSender;
  callbacks: OrderCallbacks;
  audit: AuditLog;
  retryBaseSeconds: number;
  maxWaitHours: number;
  now: () => Date;
}) {
  const { events } = deps.repos;

  const save = async (id: string, change: (e: OrderEvent) => OrderEvent | undefined) =>
    (await events.mutate(partitionOf(id), id, change))?.value;

  const finish = async (
    event: OrderEvent,
    status: 'succeeded' | 'failed' | 'rejected',
    outcome: { result?: Record<string, unknown>; errors?: OrderProblem[] },
    log: OrdersLog,
  ) => {
    const current = (await events.get(partitionOf(event.id), event.id))?.value;
    // Another run got there first: its outcome stands, and it did the reporting.
    if (!current || isFinal(current)) return;
    if (status === 'failed') {
      // Reported before the row is final, so a run killed in between reports again rather than never
      // (the callback is idempotent by its key; the audit entry may then appear twice).
      await deps.callbacks.notifyOrderingSystem(
        'order.failed',
        {
          eventId: event.id,
          type: event.type,
          customerId: event.customerId ?? null,
          errors: outcome.errors ?? [],
        },
        { key: `${event.id}:order.failed`, ...(event.customerId ? { customerId: event.customerId } : {}) },
      );
      await deps.audit.record({
        actor: `orders:${event.id}`,
        action: 'order.failed',
        ...(event.customerId ? { customerId: event.customerId } : {}),
        target: event.id,
        details: { type: event.type, errors: outcome.errors },
      });
    }
    const at = deps.now().toISOString();
    await save(event.id, (e) =>
      isFinal(e)
        ? undefined
        : {
            ...e,
            status,
            completedAt: at,
            updatedAt: at,
            dueAt: undefined,
            nextAttemptAt: undefined,
            result: outcome.result,
            errors: outcome.errors,
          },
    );
    log[status === 'succeeded' ? 'info' : 'warn']('order_event_' + status, {
      eventId: event.id,
      type: event.type,
      attempts: event.attempts,
      errors: outcome.errors?.map((p) => p.code),
    });
  };

  /** Not now: retried with back-off until the wait limit, then failed with the reason. */
  const wait = async (event: OrderEvent, problem: OrderProblem, log: OrdersLog): Promise<ProcessOutcome> => {
    const now = deps.now();
    const since = Date.parse(event.retriedAt ?? event.receivedAt);
    if (now.getTime() - since >= deps.maxWaitHours * 3600 * 1000) {
      await finish(
        event,
        'failed',
        { errors: [{ ...problem, message: `${problem.message} Gave up after ${deps.maxWaitHours} hours.` }] },
        log,
      );
      return 'failed';
    }
    const delay = backoffSeconds(event.attempts, deps.retryBaseSeconds);
    const next = addSeconds(now, delay);
    await save(event.id, (e) =>
      isFinal(e)
        ? undefined
        : {
            ...e,
            status: 'waiting',
            nextAttemptAt: next,
            dueAt: addSeconds(new Date(next), WAITING_GRACE_SECONDS),
            errors: [problem],
            updatedAt: now.toISOString(),
          },
    );
    await deps.queues
      .send(ORDERS_QUEUE, { eventId: event.id }, { visibilityDelaySeconds: delay })
      .catch((e: unknown) => log.warn('order_requeue_deferred', { eventId: event.id, error: errorText(e) }));
    log.info('order_event_waiting', { eventId: event.id, code: problem.code, retryInSeconds: delay });
    return 'waiting';
  };

  /** Events that were waiting for this customer get another go now rather than at their next retry. */
  const wake = async (customerKey: string, except: string, log: OrdersLog) => {
    for await (const row of events.listAll({
      filter: `customerId eq '${escapeOData(customerKey)}' and status eq 'waiting'`,
    })) {
      if (row.value.id === except) continue;
      await deps.queues
        .send(ORDERS_QUEUE, { eventId: row.value.id })
        .catch((e: unknown) =>
          log.warn('order_wake_deferred', { eventId: row.value.id, error: errorText(e) }),
        );
    }
  };

  return { save, finish, wait, wake };
}
