import { z } from 'zod';
import { stepsSchema } from '../jobs/steps';

/**
 * Order events and each customer's order state, as stored in Table Storage.
 *
 * An event's life: received → queued → processing → succeeded | failed, with waiting (its customer
 * does not exist yet, or a dependency is down: retried with back-off) in between, and rejected for a
 * type this version does not know (stored, answered 422, can be retried after an upgrade). Every
 * state that is not final carries `dueAt`: the time by which something must have happened to it.
 * The sweep re-queues whatever is past due, which is what makes the pipeline lossless.
 */
export const orderEventStatuses = [
  'received',
  'queued',
  'processing',
  'waiting',
  'succeeded',
  'failed',
  'rejected',
] as const;
export type OrderEventStatus = (typeof orderEventStatuses)[number];
export const finalEventStatuses: readonly OrderEventStatus[] = ['succeeded', 'failed', 'rejected'];

export const orderProblemSchema = z.object({
  code: z.string(),
  message: z.string(),
  field: z.string().optional(),
});
export type OrderProblem = z.infer<typeof orderProblemSchema>;

/** The raw body is kept as received, split over string properties (a Table property holds 64 KiB). */
export const BODY_CHUNK_CHARS = 30_000;
export const MAX_BODY_CHUNKS = 10;
const bodyChunks = {
  body0: z.string().optional(),
  body1: z.string().optional(),
  body2: z.string().optional(),
  body3: z.string().optional(),
  body4: z.string().optional(),
  body5: z.string().optional(),
  body6: z.string().optional(),
  body7: z.string().optional(),
  body8: z.string().optional(),
  body9: z.string().optional(),
};
export type BodyChunkKey = keyof typeof bodyChunks;

export const orderEventSchema = z.object({
  id: z.string(),
  type: z.string(),
  occurredAt: z.string(),
  customerId: z.string().optional(),
  /** SHA-256 of the canonical JSON: the same id with other content is a conflict. */
  bodyHash: z.string(),
  bodyBytes: z.number(),
  /** 202, or 422 for a type this version does not support: what every copy of the event is answered. */
  answerStatus: z.number(),
  status: z.enum(orderEventStatuses),
  receivedAt: z.string(),
  updatedAt: z.string(),
  /** Processing runs so far. */
  attempts: z.number(),
  dueAt: z.string().optional(),
  nextAttemptAt: z.string().optional(),
  /** Set when an operator retries a failed event: the wait limit counts from here. */
  retriedAt: z.string().optional(),
  completedAt: z.string().optional(),
  /** Steps done, each with its small result, so a re-run after a crash skips them. */
  steps: stepsSchema,
  result: z.record(z.string(), z.unknown()).optional(),
  errors: z.array(orderProblemSchema).optional(),
  ...bodyChunks,
});
export type OrderEvent = z.infer<typeof orderEventSchema>;

/**
 * Per customer: the newest applied event of each ordering group, so an older event arriving late
 * cannot undo it. (Who is applying the customer's orders right now is a lease of the jobs platform.)
 */
export const customerOrderStateSchema = z.object({
  customerKey: z.string(),
  statusAt: z.string().optional(),
  statusEventId: z.string().optional(),
  detailsAt: z.string().optional(),
  detailsEventId: z.string().optional(),
  updatedAt: z.string(),
});
export type CustomerOrderState = z.infer<typeof customerOrderStateSchema>;

/** An event waiting for its customer to exist: found again, per customer, when `customer.created` lands. */
export const waitingEventSchema = z.object({
  customerKey: z.string(),
  eventId: z.string(),
  since: z.string(),
});
export type WaitingEvent = z.infer<typeof waitingEventSchema>;

/**
 * Work a cancellation leaves for another capability (today: removing the customer's SBC sites, which
 * the dial-plan capability takes from here and completes).
 */
export const pendingCleanupSchema = z.object({
  area: z.enum(['sbc']),
  customerKey: z.string(),
  orderEventId: z.string(),
  requestedAt: z.string(),
});
export type PendingCleanup = z.infer<typeof pendingCleanupSchema>;

/**
 * What the ordering system says a customer has ordered, one row per licence SKU (replication compares
 * the tenant's licences with it). The newest event that lists subscriptions replaces the whole set.
 */
export const orderedSubscriptionSchema = z.object({
  customerKey: z.string(),
  sku: z.string(),
  quantity: z.number().int().min(0),
  orderEventId: z.string(),
  updatedAt: z.string(),
});
export type OrderedSubscription = z.infer<typeof orderedSubscriptionSchema>;
