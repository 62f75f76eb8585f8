import { z } from 'zod';
import { mailboxWake, type MailboxDefinition } from '../jobs/mailbox';

/**
 * One mailbox per tenant (key: customer id): the timer, change notifications and operators post
 * "sync this tenant" items; whoever holds the tenant's lease drains them all and runs one delta sync,
 * so a storm of notifications makes one run.
 */
export const syncRequestSchema = z.object({
  reason: z.string().max(200),
  /** A Graph lifecycle event for one of the tenant's subscriptions, handled by its next run. */
  lifecycle: z
    .object({
      event: z.enum(['reauthorizationRequired', 'subscriptionRemoved', 'missed']),
      subscriptionId: z.string().max(100),
    })
    .optional(),
});
export type SyncRequest = z.infer<typeof syncRequestSchema>;

export const syncMailbox: MailboxDefinition<SyncRequest> = {
  name: 'replication.sync',
  queue: 'replication-sync',
  payload: syncRequestSchema,
  leaseSeconds: 600,
};

/** The mailbox's wake-up message (`{ key }`: the customer id), for the worker's trigger. */
export const syncWake = mailboxWake(syncMailbox);
