import { z } from 'zod';
import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import { partitionOf } from './repositories';

/**
 * `repsubscriptions`: one row per customer (PartitionKey the customer, RowKey `graph`) naming its
 * Graph subscriptions for users and groups. A run reads it with one point read; the notification
 * route reads it to ignore subscriptions we do not know. The clientState is not here: it is derived.
 */
export const SUBSCRIPTIONS_ROW = 'graph';

export const subscriptionRefSchema = z.object({
  id: z.string(),
  expiresAt: z.string(),
  /** Which clientState key it was made under (a hash of the key, not the key). */
  keyId: z.string(),
});
export type SubscriptionRef = z.infer<typeof subscriptionRefSchema>;

export const tenantSubscriptionsSchema = z.object({
  customerId: z.string(),
  users: subscriptionRefSchema.optional(),
  groups: subscriptionRefSchema.optional(),
  /**
   * When Graph last confirmed the subscriptions exist (a daily GET: for users and groups Graph may
   * remove one without a lifecycle event). Absent on older rows: `updatedAt` stands in.
   */
  checkedAt: z.string().optional(),
  /** After a failure, the run leaves Graph alone until then (a lifecycle event overrides it). */
  retryAfter: z.string().optional(),
  lastError: z.string().optional(),
  updatedAt: z.string(),
});
export type TenantSubscriptions = z.infer<typeof tenantSubscriptionsSchema>;

export function createSubscriptionRepository(storage: StorageClients): TableRepository<TenantSubscriptions> {
  return new TableRepository(storage.table('repsubscriptions'), {
    entityName: 'change notification subscriptions',
    schema: tenantSubscriptionsSchema,
    keys: (s) => ({ partitionKey: partitionOf(s.customerId), rowKey: SUBSCRIPTIONS_ROW }),
    jsonFields: ['users', 'groups'],
  });
}
