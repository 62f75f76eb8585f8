export { createOutbox, type Outbox, type NotifyOptions, type DeliveryOutcome } from './service';
export { createOutboxRepositories, type OutboxRepositories } from './repositories';
export { deliverCallback } from './queues';
export { callbackTypes, callbackIdFor } from './rules';
