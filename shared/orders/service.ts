import { addSeconds, type Clock } from '../clock';
import type { Config } from '../config';
import type { Jobs } from '../jobs';
import type { CustomerService } from '../onboarding/customers';
import type { InvitationService } from '../onboarding/invitations';
import type { OnboardingRepositories } from '../onboarding/repositories';
import type { Outbox } from '../outbox';
import type { AuditLog } from '../storage/audit';
import type { StorageClients } from '../storage/clients';
import type { QueueSender } from '../storage/queue-sender';
import { createPendingCleanups, type PendingCleanups } from './cleanups';
import { createOrderedSubscriptions, type OrderedSubscriptions } from './subscriptions';
import { isFinal } from './event-outcomes';
import { createOrderEvents, type OrderEvents } from './events';
import { createOrderIntake, QUEUED_GRACE_SECONDS, type OrderIntake } from './intake';
import type { OrderHandlerDeps } from './handlers';
import { createOrderProcessor, type OrderProcessor } from './processor';
import { applyOrderEvent } from './queues';
import { createOrderRepositories, type OrderRepositories } from './repositories';
import { createWatermarks } from './watermarks';
import type { SiteOrders } from './handlers';
import { createWebhookSecrets, type WebhookSecrets } from './webhook-secrets';

/** The orders capability, wired: the webhook's intake, the queue worker, the admin view, pending cleanups. */
export interface OrdersService {
  repos: OrderRepositories;
  secrets: WebhookSecrets;
  intake: OrderIntake;
  processor: OrderProcessor;
  events: OrderEvents;
  cleanups: PendingCleanups;
  /** What each customer ordered (replication compares the tenant's licences with it). */
  subscriptions: OrderedSubscriptions;
}

const missing = (): never => {
  throw new Error('No dial-plan capability is wired to take site events.');
};
const noSites: SiteOrders = { create: missing, changePrefixes: missing, remove: missing, ownerOf: missing };

export function createOrdersService(deps: {
  config: Config['orders'];
  storage: StorageClients;
  queues: QueueSender;
  audit: AuditLog;
  jobs: Jobs;
  outbox: Outbox;
  webhookSecrets: WebhookSecrets;
  customers: CustomerService;
  /** Ends our access to a customer's tenant (token health's revoke): the cancel path uses it. */
  access: OrderHandlerDeps['access'];
  invitations: InvitationService;
  onboarding: OnboardingRepositories;
  /** The dial-plan capability's sites; without it, site events fail and are retried. */
  sites?: SiteOrders;
  now: Clock;
}): OrdersService {
  const { config, now } = deps;
  const repos = createOrderRepositories(deps.storage, deps.jobs.due);
  const secrets = deps.webhookSecrets;
  const cleanups = createPendingCleanups({ repos, now });
  const subscriptions = createOrderedSubscriptions({ repos, now });

  // The sweep's part: an event past its due time (never queued, its message lost or poisoned, its
  // worker dead) is queued again; a finished one is deleted after its retention.
  repos.events.requeueWhenDue({
    isOpen: (e) => !isFinal(e),
    bump: (e) => ({
      ...e,
      status: e.status === 'received' ? 'queued' : e.status,
      dueAt: addSeconds(now(), QUEUED_GRACE_SECONDS),
    }),
    send: (e) => applyOrderEvent.send(deps.queues, { eventId: e.id }),
    log: (e, log) => log.warn('order_event_requeued', { eventId: e.id }),
  });
  repos.events.purgeWhenFinished(isFinal);

  const processor = createOrderProcessor({
    repos,
    queues: deps.queues,
    leases: deps.jobs.leases,
    watermarks: createWatermarks({ repo: repos.customerStates, now }),
    customers: deps.customers,
    outbox: deps.outbox,
    audit: deps.audit,
    handlerDeps: {
      customers: deps.customers,
      access: deps.access,
      invitations: deps.invitations,
      onboarding: deps.onboarding,
      sites: deps.sites ?? noSites,
      cleanups,
      subscriptions,
      audit: deps.audit,
      outbox: deps.outbox,
      now,
    },
    retryBaseSeconds: config.retryBaseSeconds,
    maxWaitHours: config.maxWaitHours,
    leaseSeconds: config.leaseSeconds,
    retentionDays: config.retentionDays,
    now,
  });
  return {
    repos,
    secrets,
    intake: createOrderIntake({
      repos,
      queues: deps.queues,
      secrets,
      audit: deps.audit,
      toleranceSeconds: config.signatureToleranceSeconds,
      now,
    }),
    processor,
    events: createOrderEvents({ repos, queues: deps.queues, audit: deps.audit, now }),
    cleanups,
    subscriptions,
  };
}

export { createWebhookSecrets };
