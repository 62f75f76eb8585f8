import { createReplication, type ReplicationConfig } from '../../shared/replication';
import { createGraphReader } from '../../shared/replication/graph';
import type { Services } from '../../shared/services';

/**
 * A second replication over the same storage, clock and services, whose Graph reads first pass
 * through `before` — to kill the process at a chosen request, or to impose Microsoft's answer to one.
 */
export function replicationInterrupted(
  services: Services,
  before: (url: string) => void,
  config: Partial<ReplicationConfig> = {},
) {
  const real = createGraphReader({});
  return createReplication({
    config: {
      graphBaseUrl: services.config.graph.baseUrl,
      publicBaseUrl: services.config.portal.publicBaseUrl,
      ...services.config.replication,
      ...config,
    },
    storage: services.storage,
    jobs: services.jobs,
    customers: services.customers,
    tokens: services.tokens,
    audit: services.audit,
    outbox: services.outbox,
    subscriptions: services.orders.subscriptions,
    secrets: services.secrets,
    now: services.now,
    graph: {
      get requests() {
        return real.requests;
      },
      get: (url, token) => {
        before(url);
        return real.get(url, token);
      },
    },
  });
}
