import { z } from 'zod';
import { mailboxWake, type MailboxDefinition } from '../../jobs/mailbox';

/**
 * One mailbox per tenant (key: customer id) for pushes: the sweep (a quiet period ended, a
 * Retry-After passed, an operation to poll) and operators ("replicate now") post; the holder of the
 * tenant's lease makes one push for all of them, so two pushes of one tenant never overlap.
 */
export const pushRequestSchema = z.object({
  reason: z.string().max(200),
  /** Push queued changes now, without waiting for the quiet period (Retry-Afters still hold). */
  now: z.boolean().optional(),
});
export type PushRequest = z.infer<typeof pushRequestSchema>;

export const pushMailbox: MailboxDefinition<PushRequest> = {
  name: 'replication.push',
  queue: 'replication-push',
  payload: pushRequestSchema,
  leaseSeconds: 600,
};

export const pushWake = mailboxWake(pushMailbox);
