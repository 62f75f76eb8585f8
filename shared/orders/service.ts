import type { Config } from '../config';
import type { CustomerService } from '../onboarding/customers';
import type { InvitationService } from '../onboarding/invitations';
import type { OnboardingRepositories } from '../onboarding/repositories';
import type { SecretStore } from '../secrets/vault';
import type { AuditLog } from '../storage/audit';
import type { StorageClients } from '../storage/clients';
import type { QueueSender } from '../storage/queue-sender';
import { createOrderCallbacks, type OrderCallbacks } from './callbacks';
import { createCustomerLeases } from './customer-lease';
import { createOrderEvents, type OrderEvents } from './events';
import { createOrderIntake, type OrderIntake } from './intake';
import { createOrderProcessor, type OrderProcessor } from './processor';
import { createOrderRepositories, type OrderRepositories } from './repositories';
import { createOrderSweep, type OrderSweep } from './sweep';
import { createWebhookSecrets, type WebhookSecrets } from './webhook-secrets';

/** The orders capability, wired: the webhook's intake, the queue worker, the sweep, callbacks and the admin view. */
export interface OrdersService {
  repos: OrderRepositories;
  secrets: WebhookSecrets;
  intake: OrderIntake;
  processor: OrderProcessor;
  events: OrderEvents;
  callbacks: OrderCallbacks;
  sweep: OrderSweep;
}

export function createOrdersService(deps: {
  config: Config['orders'];
  storage: StorageClients;
  queues: QueueSender;
  audit: AuditLog;
  vault: SecretStore;
  customers: CustomerService;
  invitations: InvitationService;
  onboarding: OnboardingRepositories;
  now?: () => Date;
  fetch?: typeof fetch;
}): OrdersService {
  const now = deps.now ?? (() => new Date());
  const { config } = deps;
  const repos = createOrderRepositories(deps.storage);
  const secrets = createWebhookSecrets({
    secrets: deps.vault,
    names: config.webhookSecretNames,
    cacheSeconds: config.secretCacheSeconds,
    now: () => now().getTime(),
  });
  const callbacks = createOrderCallbacks({
    repos,
    queues: deps.queues,
    secrets,
    audit: deps.audit,
    url: config.callbackUrl,
    maxAttempts: config.callbackMaxAttempts,
    retryBaseSeconds: config.retryBaseSeconds,
    now,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const processor = createOrderProcessor({
    repos,
    queues: deps.queues,
    leases: createCustomerLeases({ repo: repos.customerStates, leaseSeconds: config.leaseSeconds, now }),
    customers: deps.customers,
    callbacks,
    audit: deps.audit,
    handlerDeps: {
      customers: deps.customers,
      invitations: deps.invitations,
      onboarding: deps.onboarding,
      secrets: deps.vault,
      audit: deps.audit,
      callbacks,
      now,
    },
    retryBaseSeconds: config.retryBaseSeconds,
    maxWaitHours: config.maxWaitHours,
    leaseSeconds: config.leaseSeconds,
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
    callbacks,
    sweep: createOrderSweep({ repos, queues: deps.queues, now }),
  };
}
