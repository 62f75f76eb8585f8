import { z } from 'zod';
import { ConflictError, NotFoundError, UnprocessableError } from '../errors';
import { parseWith } from '../http/requests';
import type { AuditLog } from '../storage/audit';
import type { QueueSender } from '../storage/queue-sender';
import { odata } from '@azure/data-tables';
import { addSeconds } from '../clock';
import { eventIdSchema } from './envelope';
import { isKnownEventType } from './event-types';
import { eventPath, QUEUED_GRACE_SECONDS } from './intake';
import { applyOrderEvent } from './queues';
import { orderEventStatuses, type OrderEvent, type OrderEventStatus, type OrderProblem } from './model';
import { bodyOf, partitionOf, type OrderRepositories } from './repositories';

/**
 * What the ordering system and operators see of an event: where it is, what came of it, and why it
 * failed. `GET /api/orders/events/{id}` is the link the webhook's 202 points to.
 */
export interface OrderEventView {
  id: string;
  type: string;
  customerId: string | null;
  occurredAt: string;
  receivedAt: string;
  status: OrderEventStatus;
  attempts: number;
  nextAttemptAt: string | null;
  completedAt: string | null;
  result: Record<string, unknown> | null;
  errors: OrderProblem[];
  steps: string[];
  links: { self: string };
}

export function viewEvent(e: OrderEvent): OrderEventView {
  return {
    id: e.id,
    type: e.type,
    customerId: e.customerId ?? null,
    occurredAt: e.occurredAt,
    receivedAt: e.receivedAt,
    status: e.status,
    attempts: e.attempts,
    nextAttemptAt: e.nextAttemptAt ?? null,
    completedAt: e.completedAt ?? null,
    result: e.result ?? null,
    errors: e.errors ?? [],
    steps: Object.keys(e.steps),
    links: { self: eventPath(e.id) },
  };
}

export const listEventsQuery = z.object({
  status: z.enum(orderEventStatuses).optional(),
  customerId: z.string().trim().max(40).optional(),
  type: z.string().trim().max(100).optional(),
  pageSize: z.coerce.number().int().min(1).max(1000).optional(),
  continuationToken: z.string().max(2000).optional(),
});

export interface OrderEvents {
  get(id: string): Promise<OrderEventView & { data: unknown }>;
  list(query: unknown): Promise<{ items: OrderEventView[]; continuationToken: string | null }>;
  /** Puts a failed (or, after an upgrade, a rejected) event back in the queue; a waiting one goes now. */
  retry(id: string, actor: string): Promise<OrderEventView>;
}

export function createOrderEvents(deps: {
  repos: OrderRepositories;
  queues: QueueSender;
  audit: AuditLog;
  now: () => Date;
}): OrderEvents {
  const { events } = deps.repos;
  const load = async (id: string) => {
    if (!eventIdSchema.safeParse(id).success) throw new NotFoundError('Order event', id);
    const row = await events.get(partitionOf(id), id);
    if (!row) throw new NotFoundError('Order event', id);
    return row.value;
  };
  return {
    async get(id) {
      const e = await load(id);
      let data: unknown = null;
      try {
        data = (JSON.parse(bodyOf(e)) as { data?: unknown }).data ?? null;
      } catch {
        data = null;
      }
      return { ...viewEvent(e), data };
    },

    async list(input) {
      const q = parseWith(listEventsQuery, input, 'query');
      const filters = [
        q.status ? odata`status eq ${q.status}` : undefined,
        q.customerId ? odata`customerId eq ${q.customerId.toLowerCase()}` : undefined,
        q.type ? odata`type eq ${q.type}` : undefined,
      ].filter((f): f is string => f !== undefined);
      const page = await events.list({
        pageSize: q.pageSize ?? 100,
        ...(filters.length ? { filter: filters.join(' and ') } : {}),
        ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
      });
      return {
        items: page.items.map((s) => viewEvent(s.value)),
        continuationToken: page.continuationToken ?? null,
      };
    },

    async retry(id, actor) {
      const e = await load(id);
      if (e.status === 'succeeded') throw new ConflictError(`Order event '${id}' already succeeded.`);
      if (e.status === 'rejected' && !isKnownEventType(e.type)) {
        throw new UnprocessableError(`Event type '${e.type}' is still not supported by this version.`);
      }
      const now = deps.now();
      const from = e.status;
      let changed = false;
      const updated = await events.mutate(partitionOf(id), id, (cur) => {
        changed = cur.status === from;
        return !changed
          ? undefined
          : {
              ...cur,
              status: cur.status === 'failed' || cur.status === 'rejected' ? 'queued' : cur.status,
              ...(cur.status === 'failed' || cur.status === 'rejected'
                ? { retriedAt: now.toISOString(), completedAt: undefined }
                : {}),
              dueAt: addSeconds(now, QUEUED_GRACE_SECONDS),
              updatedAt: now.toISOString(),
            };
      });
      if (!updated || !changed) {
        throw new ConflictError(`Order event '${id}' changed meanwhile; look again.`);
      }
      await applyOrderEvent.send(deps.queues, { eventId: id });
      await deps.audit.record({
        actor,
        action: 'order.retried',
        ...(e.customerId ? { customerId: e.customerId } : {}),
        target: id,
        details: { from },
      });
      return viewEvent(updated.value);
    },
  };
}
