import { createHash } from 'node:crypto';

/** The callbacks the ordering system can receive, with what each means (documented in docs/orders-webhook.md). */
export const callbackTypes = {
  'customer.invited': "An invitation e-mail went to the customer's admin.",
  'customer.consented': "The customer's admin signed in and granted consent; service can start.",
  'order.failed': 'An order event could not be applied; `errors` says why.',
  'customer.consent_needed':
    "Microsoft no longer accepts the customer's consent (`reason`); a re-consent invitation went to the admin.",
  'customer.access_lost':
    "The customer's tenant can no longer be reached (`reason`: tenant deleted, app removed, account gone); nothing is retried.",
  'user.removed':
    'A user was removed in the Microsoft portal (`permanent`: false while it can still be restored, 30 days).',
  'user.restored': 'A soft-deleted user was restored in the Microsoft portal.',
  'user.signInNameChanged': "A user's sign-in name changed (`from`, `to`); the same user by `userId`.",
  'user.licencesRemoved': 'Licences were taken from a user in the Microsoft portal (`skuIds`).',
  'user.licencesSwitched': "A user's licences were switched in the Microsoft portal (`from`, `to`: SKU ids).",
  'user.adminRoleRevoked': 'A user lost an admin role (`role`, `roleTemplateId`) in the Microsoft portal.',
} as const;

/** The same key always names the same callback, so a caller that runs twice queues it once. */
export function callbackIdFor(key: string): string {
  return `cb_${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)}`;
}

/** Callbacks are spread over 256 partitions by a hash of their id; a point read needs only the id. */
export function partitionOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 2);
}
