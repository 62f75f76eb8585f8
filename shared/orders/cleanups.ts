import type { Clock } from '../clock';
import type { Page } from '../storage/table-repository';
import type { PendingCleanup } from './model';
import type { OrderRepositories } from './repositories';

/**
 * Cleanups a cancellation leaves for another capability: recorded here (orders' own table) and taken
 * by the capability that does them, which marks each done. Recording twice is harmless.
 */
export interface PendingCleanups {
  request(area: PendingCleanup['area'], customerId: string, orderEventId: string): Promise<void>;
  list(
    area: PendingCleanup['area'],
    options?: { pageSize?: number; continuationToken?: string },
  ): Promise<Page<PendingCleanup>>;
  complete(area: PendingCleanup['area'], customerId: string): Promise<void>;
}

export function createPendingCleanups(deps: { repos: OrderRepositories; now: Clock }): PendingCleanups {
  const repo = deps.repos.cleanups;
  return {
    async request(area, customerId, orderEventId) {
      await repo.upsert({
        area,
        customerKey: customerId.toLowerCase(),
        orderEventId,
        requestedAt: deps.now().toISOString(),
      });
    },
    list: (area, options = {}) =>
      repo.list({
        partitionKey: area,
        pageSize: options.pageSize ?? 100,
        ...(options.continuationToken ? { continuationToken: options.continuationToken } : {}),
      }),
    async complete(area, customerId) {
      await repo.delete(area, customerId.toLowerCase());
    },
  };
}
