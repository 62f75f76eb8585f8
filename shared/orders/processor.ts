import { randomUUID } from 'node:crypto';
import { addSeconds, type Clock } from '../clock';
import { ConflictError, DomainError } from '../errors';
import type { Leases } from '../jobs/leases';
import { stepRunner } from '../jobs/steps';
import { errorText, type Log } from '../log';
import type { CustomerService } from '../onboarding/customers';
import type { Outbox } from '../outbox';
import type { AuditLog } from '../storage/audit';
import type { QueueSender } from '../storage/queue-sender';
import { parseEvent } from './envelope';
import { OrderRefusedError } from './errors';
import { createEventOutcomes, isFinal, type ProcessOutcome } from './event-outcomes';
import { eventTypes } from './event-types';
import { handlers, type OrderContext, type OrderHandlerDeps } from './handlers';
import { applyOrderEvent } from './queues';
import { bodyOf, partitionOf, type OrderRepositories } from './repositories';
import { isSuperseded, supersededBy, type Watermark, type Watermarks } from './watermarks';

/**
 * Applies one stored event, from a queue message that carries only its id. Safe to run any number of
 * times, concurrently, or after a crash: a finished event is skipped, one customer's events run one
 * at a time under its lease (a lease of the jobs platform, scope `orders.customer`), finished steps are
 * skipped, and every way out of a run leaves the event either final or with a `dueAt` the sweep will
 * act on.
 */
export type { ProcessOutcome } from './event-outcomes';

export interface OrderProcessor {
  /**
   * `owner` names this run for the customer's lease: the queue message's id, so that a redelivery of
   * the same message (its worker failed, perhaps without giving the lease back) continues at once.
   */
  process(eventId: string, log: Log, owner?: string): Promise<ProcessOutcome>;
}

export const CUSTOMER_LEASE_SCOPE = 'orders.customer';

/** How soon a message for a customer whose lease is taken comes back. */
const BUSY_DELAY_SECONDS = 3;

/** Errors that may go away by themselves (a dependency down, a lost ETag race) are retried. */
function isTransient(e: unknown): boolean {
  if (e instanceof OrderRefusedError) return false;
  if (e instanceof ConflictError) return true;
  if (e instanceof DomainError) return e.status >= 500;
  return true;
}

export function createOrderProcessor(deps: {
  repos: OrderRepositories;
  queues: QueueSender;
  leases: Leases;
  watermarks: Watermarks;
  customers: CustomerService;
  outbox: Outbox;
  audit: AuditLog;
  handlerDeps: OrderHandlerDeps;
  retryBaseSeconds: number;
  maxWaitHours: number;
  leaseSeconds: number;
  retentionDays: number;
  now: Clock;
}): OrderProcessor {
  const { events } = deps.repos;

  const { save, finish, wait, wake } = createEventOutcomes(deps);

  return {
    async process(eventId, log, owner = `run:${randomUUID()}`) {
      const stored = await events.get(partitionOf(eventId), eventId);
      if (!stored) {
        log.warn('order_event_missing', { eventId });
        return 'missing';
      }
      const first = stored.value;
      if (isFinal(first)) return 'skipped';

      let parsed;
      try {
        parsed = parseEvent(JSON.parse(bodyOf(first)));
      } catch (e) {
        await finish(
          first,
          'failed',
          { errors: [{ code: 'invalid_stored_event', message: errorText(e) }] },
          log,
        );
        return 'failed';
      }
      if (parsed.kind === 'unsupported') {
        await finish(
          first,
          'rejected',
          { errors: [{ code: parsed.reason, message: 'Not supported.' }] },
          log,
        );
        return 'rejected';
      }
      const definition = eventTypes[parsed.type];
      const customerKey = parsed.data.customerId.toLowerCase();
      const lease = await deps.leases.acquire(CUSTOMER_LEASE_SCOPE, customerKey, owner, deps.leaseSeconds);
      if (!lease) {
        // Another event of this customer is being applied; come back shortly (jittered, so a burst spreads out).
        const delay = BUSY_DELAY_SECONDS + Math.floor(Math.random() * 3);
        await applyOrderEvent.send(deps.queues, { eventId }, { delaySeconds: delay });
        return 'busy';
      }

      let watermark: Watermark | undefined;
      let released = false;
      // The watermark first, then the lease: the next event of the customer sees what this one applied.
      const release = async () => {
        if (released) return;
        released = true;
        if (watermark) await deps.watermarks.advance(customerKey, watermark);
        await deps.leases.release(CUSTOMER_LEASE_SCOPE, customerKey, owner);
      };
      try {
        const now = deps.now();
        let event = await save(eventId, (e) =>
          isFinal(e)
            ? undefined
            : {
                ...e,
                status: 'processing',
                attempts: e.attempts + 1,
                nextAttemptAt: undefined,
                dueAt: addSeconds(now, deps.leaseSeconds + 30),
                updatedAt: now.toISOString(),
              },
        );
        if (!event || isFinal(event)) return 'skipped';
        const state = await deps.watermarks.read(customerKey);

        const mark: Watermark | undefined =
          definition.ordering === 'none'
            ? undefined
            : { group: definition.ordering, at: parsed.envelope.occurredAt, eventId };
        if (mark && isSuperseded(state, mark)) {
          await release();
          await finish(
            event,
            'succeeded',
            { result: { superseded: true, by: supersededBy(state, mark.group) } },
            log,
          );
          return 'succeeded';
        }

        const customer = await deps.customers.find(parsed.data.customerId);
        if (definition.requiresCustomer && !customer) {
          await release();
          return await wait(
            event,
            {
              code: 'customer_not_found',
              message: `Customer '${parsed.data.customerId}' does not exist yet; waiting for its customer.created event.`,
              field: 'data.customerId',
            },
            log,
          );
        }

        const steps = stepRunner({
          item: event,
          save: (change) => save(eventId, change),
          now: deps.now,
          saved: (after) => {
            event = after;
          },
        });
        const ctx: OrderContext = {
          eventId,
          type: parsed.type,
          occurredAt: parsed.envelope.occurredAt,
          data: parsed.data as OrderContext['data'],
          actor: `orders:${eventId}`,
          customer,
          hasStep: (name) => steps.has(name),
          step: (name, fn) => steps.step(name, fn),
        };
        const handler = handlers[parsed.type] as (
          c: OrderContext,
          d: OrderHandlerDeps,
        ) => Promise<Record<string, unknown>>;
        const result = await handler(ctx, deps.handlerDeps);
        watermark = mark;
        await release();
        await finish(event, 'succeeded', { result }, log);
        if (parsed.type === 'customer.created') await wake(customerKey, eventId, log);
        return 'succeeded';
      } catch (e) {
        await release().catch(() => undefined);
        const current = (await events.get(partitionOf(eventId), eventId))?.value ?? first;
        if (isFinal(current)) return 'skipped';
        if (e instanceof OrderRefusedError) {
          await finish(
            current,
            'failed',
            { errors: [{ code: e.code, message: e.message, ...(e.field ? { field: e.field } : {}) }] },
            log,
          );
          return 'failed';
        }
        if (!isTransient(e)) {
          const d = e as DomainError;
          await finish(current, 'failed', { errors: [{ code: d.code, message: d.message }] }, log);
          return 'failed';
        }
        log.warn('order_event_retrying', { eventId, error: errorText(e) });
        return await wait(
          current,
          {
            code: 'temporarily_failed',
            message: e instanceof DomainError ? e.message : 'An unexpected error; retrying.',
          },
          log,
        );
      } finally {
        await release().catch((e: unknown) =>
          log.warn('order_lease_release_failed', { eventId, error: errorText(e) }),
        );
      }
    },
  };
}
