import { z } from 'zod';

/**
 * The background-work platform's own rows: leases (one holder per key), the index of due work (what
 * the sweep reads instead of scanning tables), per-key mailboxes, and its state (the maintenance
 * switch and the sweep's cursor). The work items themselves live in each capability's own table and
 * carry `dueAt`; see `work-table.ts`.
 */

/** Who may work on a key right now. Deleted when released, so the table holds only live leases. */
export const leaseSchema = z.object({
  scope: z.string(),
  key: z.string(),
  owner: z.string(),
  until: z.string(),
  acquiredAt: z.string(),
});
export type Lease = z.infer<typeof leaseSchema>;

/**
 * One entry per (work item, due time), partitioned by the hour it falls due, so the sweep reads a
 * few single-partition ranges. An entry whose item moved on (final, or due at another time) is
 * simply dropped when the sweep reaches it.
 */
export const dueEntrySchema = z.object({
  bucket: z.string(),
  dueAt: z.string(),
  kind: z.string(),
  /** The work item's keys in its own table (not named partitionKey/rowKey: those are this row's). */
  itemPartition: z.string(),
  itemRow: z.string(),
});
export type DueEntry = z.infer<typeof dueEntrySchema>;

/** Something posted to a key's mailbox, waiting for the key's lease holder to drain it. */
export const mailboxItemSchema = z.object({
  box: z.string(),
  key: z.string(),
  id: z.string(),
  postedAt: z.string(),
  payload: z.unknown(),
});
export type MailboxItem = z.infer<typeof mailboxItemSchema>;

export const maintenanceSchema = z.object({
  name: z.literal('maintenance'),
  paused: z.boolean(),
  since: z.string(),
  by: z.string(),
  reason: z.string().optional(),
  updatedAt: z.string(),
});
export type MaintenanceState = z.infer<typeof maintenanceSchema>;

export const sweepCursorSchema = z.object({
  name: z.literal('sweep'),
  /** The oldest hour bucket that may still hold due entries. */
  bucket: z.string(),
  updatedAt: z.string(),
});
export type SweepCursor = z.infer<typeof sweepCursorSchema>;
