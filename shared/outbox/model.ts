import { z } from 'zod';

/**
 * A status callback to the ordering system, as stored: pending until answered 2xx (delivered) or
 * out of attempts (failed). `dueAt` is the time by which the next attempt must have happened; the
 * sweep queues it again when that passes.
 */
export const callbackStatuses = ['pending', 'delivered', 'failed'] as const;
export type CallbackStatus = (typeof callbackStatuses)[number];

export const callbackSchema = z.object({
  id: z.string(),
  type: z.string(),
  occurredAt: z.string(),
  customerId: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
  status: z.enum(callbackStatuses),
  attempts: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  dueAt: z.string().optional(),
  nextAttemptAt: z.string().optional(),
  deliveredAt: z.string().optional(),
  lastStatusCode: z.number().optional(),
  lastError: z.string().optional(),
});
export type Callback = z.infer<typeof callbackSchema>;
