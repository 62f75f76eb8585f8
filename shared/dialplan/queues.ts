import { z } from 'zod';
import { mailboxWake } from '../jobs/mailbox';

/**
 * The SBC mailbox: one per SBC (key = SBC id). An item only says which change woke it; the worker,
 * holding the SBC's lease, reads every open change of that SBC from `sbcchanges` and pushes them as
 * one script. Its queue message (`{ key }`) is defined by the platform's mailbox.
 */
export const SBC_MAILBOX = {
  name: 'sbc-changes',
  queue: 'sbc-changes',
  payload: z.object({ changeId: z.string().min(1).max(200) }),
  leaseSeconds: 300,
};

/** The mailbox's wake-up message, for the worker's trigger (the same definition the mailbox sends). */
export const sbcWake = mailboxWake(SBC_MAILBOX);
