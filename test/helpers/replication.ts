import { createReplication, type ReplicationConfig } from '../../shared/replication';
import { createGraphReader, type GraphReader } from '../../shared/replication/graph';
import type { Services } from '../../shared/services';

/**
 * A second replication over the same storage, clock and services, with its own settings and Graph
 * reader; `before` sees each Graph read first — to kill the process at a chosen request, or to impose
 * Microsoft's answer to one.
 */
export function replicationWith(
  services: Services,
  options: { config?: Partial<ReplicationConfig>; graph?: GraphReader; before?: (url: string) => void } = {},
) {
  const real = options.graph ?? createGraphReader({});
  const before = options.before;
  return createReplication({
    config: {
      graphBaseUrl: services.config.graph.baseUrl,
      publicBaseUrl: services.config.portal.publicBaseUrl,
      ...services.config.replication,
      ...options.config,
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
    graph: before
      ? {
          get requests() {
            return real.requests;
          },
          get: (url, token, tenant) => {
            before(url);
            return real.get(url, token, tenant);
          },
        }
      : real,
  });
}

/** `replicationWith` whose Graph reads pass through `before` first. */
export const replicationInterrupted = (
  services: Services,
  before: (url: string) => void,
  config: Partial<ReplicationConfig> = {},
) => replicationWith(services, { before, config });
