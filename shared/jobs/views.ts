import { z } from 'zod';

/** What operators see of the pause switch (the API answers it; the OpenAPI document is built from it). */
export const maintenanceViewSchema = z.object({
  paused: z.boolean(),
  since: z.string().nullable(),
  by: z.string().nullable(),
  reason: z.string().nullable(),
  queues: z.array(z.object({ name: z.string(), messages: z.number().int(), poison: z.number().int() })),
  inFlight: z.array(z.object({ scope: z.string(), keys: z.number().int() })),
});
export type MaintenanceView = z.infer<typeof maintenanceViewSchema>;

export const pauseRequestSchema = z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict();

/** A run an operator started (verify-all), with its progress. */
export const runViewSchema = z.object({
  id: z.string(),
  kind: z.string(),
  startedAt: z.string(),
  by: z.string(),
  total: z.number().int().nullable(),
  done: z.number().int(),
  outcomes: z.record(z.string(), z.number().int()),
  finished: z.boolean(),
});
