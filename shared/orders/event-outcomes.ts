import { addSeconds, type Clock } from '../clock';
import { backoffSeconds } from '../jobs/rules';
import { errorText, type Log } from '../log';
import type { Outbox } from '../outbox';
import type { AuditLog } from '../storage/audit';
import type { QueueSender } from '../storage/queue-sender';
import { finalEventStatuses, type OrderEvent, type OrderProblem } from './model';
import { applyOrderEvent } from './queues';
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
  outbox: Outbox;
  audit: AuditLog;
  retryBaseSeconds: number;
  maxWaitHours: number;
  retentionDays: number;
  now: Clock;
}) {
  const { events, waiting } = deps.repos;

  const save = async (id: string, change: (e: OrderEvent) => OrderEvent | undefined) =>
    (await events.mutate(partitionOf(id), id, change))?.value;

  const finish = async (
    event: OrderEvent,
    status: 'succeeded' | 'failed' | 'rejected',
    outcome: { result?: Record<string, unknown>; errors?: OrderProblem[] },
    log: Log,
  ) => {
    const current = (await events.get(partitionOf(event.id), event.id))?.value;
    // Another run got there first: its outcome stands, and it did the reporting.
    if (!current || isFinal(current)) return;
    if (status === 'failed') {
      // Reported before the row is final, so a run killed in between reports again rather than never
      // (the callback is idempotent by its key; the audit entry may then appear twice).
      await deps.outbox.notify(
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
    const final = await save(event.id, (e) =>
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
    if (final) await events.retain(final, deps.retentionDays, deps.now);
    if (event.customerId) await waiting.delete(event.customerId, event.id).catch(() => false);
    log[status === 'succeeded' ? 'info' : 'warn']('order_event_' + status, {
      eventId: event.id,
      type: event.type,
      attempts: event.attempts,
      errors: outcome.errors?.map((p) => p.code),
    });
  };

  /** Not now: retried with back-off until the wait limit, then failed with the reason. */
  const wait = async (event: OrderEvent, problem: OrderProblem, log: Log): Promise<ProcessOutcome> => {
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
    if (problem.code === 'customer_not_found' && event.customerId) {
      await waiting.upsert({ customerKey: event.customerId, eventId: event.id, since: now.toISOString() });
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
    await applyOrderEvent
      .send(deps.queues, { eventId: event.id }, { delaySeconds: delay })
      .catch((e: unknown) => log.warn('order_requeue_deferred', { eventId: event.id, error: errorText(e) }));
    log.info('order_event_waiting', { eventId: event.id, code: problem.code, retryInSeconds: delay });
    return 'waiting';
  };

  /** Events that were waiting for this customer get another go now rather than at their next retry. */
  const wake = async (customerKey: string, except: string, log: Log) => {
    for await (const row of waiting.listAll({ partitionKey: customerKey })) {
      if (row.value.eventId === except) continue;
      await applyOrderEvent
        .send(deps.queues, { eventId: row.value.eventId })
        .catch((e: unknown) =>
          log.warn('order_wake_deferred', { eventId: row.value.eventId, error: errorText(e) }),
        );
    }
  };

  return { save, finish, wait, wake };
}
