import type { Clock } from '../clock';
import type { OrderedSubscription } from './model';
import type { OrderRepositories } from './repositories';

/**
 * The licences the ordering system ordered for each customer. An event that lists subscriptions
 * states the whole set: rows it does not name are removed, in one transaction per customer (its own
 * partition, at most 100 SKUs, which the event schema enforces).
 */
export interface OrderedSubscriptions {
  replace(
    customerId: string,
    items: { sku: string; quantity: number }[],
    orderEventId: string,
  ): Promise<void>;
  list(customerId: string): Promise<OrderedSubscription[]>;
}

export function createOrderedSubscriptions(deps: {
  repos: OrderRepositories;
  now: Clock;
}): OrderedSubscriptions {
  const repo = deps.repos.subscriptions;
  const list = async (customerId: string) => {
    const out: OrderedSubscription[] = [];
    for await (const row of repo.listAll({ partitionKey: customerId.toLowerCase() })) out.push(row.value);
    return out;
  };
  return {
    list,
    async replace(customerId, items, orderEventId) {
      const customerKey = customerId.toLowerCase();
      const at = deps.now().toISOString();
      const wanted = new Map(items.map((i) => [i.sku, i.quantity]));
      const stale = (await list(customerId)).filter((s) => !wanted.has(s.sku));
      await repo.transaction([
        ...[...wanted].map(([sku, quantity]) => ({
          op: 'upsert' as const,
          value: { customerKey, sku, quantity, orderEventId, updatedAt: at },
        })),
        ...stale.map((s) => ({
          op: 'delete' as const,
          partitionKey: customerKey,
          rowKey: encodeURIComponent(s.sku),
        })),
      ]);
    },
  };
}
