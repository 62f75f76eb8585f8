import { z } from 'zod';

/**
 * Changes back: edits to a customer's users queued here and pushed to Microsoft 365 in the
 * background. One row per Graph write: `profile` (PATCH /users/{id}), `licences` (assignLicense),
 * `number` (Teams assignNumber, then its operation polled). `push` rows (one per tenant) hold when the
 * tenant's next push is due, so the sweep finds it without reading the changes.
 */
export const changeKinds = ['profile', 'licences', 'number'] as const;
export type ChangeKind = (typeof changeKinds)[number];

export const changeStatuses = [
  'queued',
  /** The write is on its way (recorded before the Graph call): its outcome is looked up, not assumed. */
  'pushing',
  /** Accepted by Microsoft (202); its operation is polled at `notBefore`. */
  'polling',
  /** Graph answered 429: pushed again after its own Retry-After (`notBefore`). */
  'throttled',
  /** The customer's grant lacks the write permissions, or consent lapsed: pushed after re-consent. */
  'waiting_consent',
  'succeeded',
  'failed',
] as const;
export type ChangeStatus = (typeof changeStatuses)[number];
export const openStatuses: readonly ChangeStatus[] = [
  'queued',
  'pushing',
  'polling',
  'throttled',
  'waiting_consent',
];

/** What Graph answered for the change's last request (never a token or a secret). */
export const itemResultSchema = z.object({
  status: z.number().int(),
  code: z.string().max(200).optional(),
  message: z.string().max(500).optional(),
  at: z.string(),
});
export type ItemResult = z.infer<typeof itemResultSchema>;

export const changeRowSchema = z.object({
  customerId: z.string(),
  /** Time-ordered: `<queued at>|<index>|<random>`. */
  id: z.string(),
  userId: z.string(),
  kind: z.enum(changeKinds),
  profile: z
    .object({ department: z.string().nullable().optional(), usageLocation: z.string().nullable().optional() })
    .optional(),
  addLicenses: z.array(z.string()).optional(),
  removeLicenses: z.array(z.string()).optional(),
  phoneNumber: z.string().optional(),
  status: z.enum(changeStatuses),
  attempts: z.number().int(),
  /** Not pushed before this (the quiet period, a Retry-After, a poll interval). */
  notBefore: z.string(),
  result: itemResultSchema.optional(),
  /** A number assignment: when its latest POST was put on record (just before it went). */
  attemptedAt: z.string().optional(),
  /** A number assignment: when its first POST was put on record (its deadline runs from here). */
  postedAt: z.string().optional(),
  /** The number assignment's operation (Location of the 202), polled until it ends. */
  operationUrl: z.string().optional(),
  actor: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().optional(),
});
export type ChangeRow = z.infer<typeof changeRowSchema>;

export const pushRowSchema = z.object({
  customerId: z.string(),
  /** The tenant's next push (the sweep wakes its worker then); undefined when nothing is open. */
  dueAt: z.string().optional(),
  updatedAt: z.string(),
});
export type PushRow = z.infer<typeof pushRowSchema>;
