import { createHash, randomUUID } from 'node:crypto';
import { ConflictError } from '../errors';
import type { AuditLog } from '../storage/audit';
import type { QueueSender } from '../storage/queue-sender';
import { addSeconds, backoffSeconds } from './backoff';
import { SPEC_VERSION } from './envelope';
import { errorText, type OrdersLog } from './log';
import type { OrderCallback } from './model';
import { partitionOf, type OrderRepositories } from './repositories';
import { SIGNATURE_HEADER, signatureHeader } from './signature';
import type { WebhookSecrets } from './webhook-secrets';

/**
 * Status callbacks to the ordering system (customer invited, customer consented, order failed, and
 * later capabilities' events): an outbox row first, then a queue message, then a signed POST retried
 * with back-off until it is answered 2xx or gives up after the configured attempts. Delivery is
 * at least once: the receiver deduplicates by the callback's `id`.
 */
export const CALLBACK_QUEUE = 'order-callbacks';
const DELIVERY_TIMEOUT_MS = 10_000;
/** How long one delivery attempt may take before the sweep considers it lost. */
const ATTEMPT_LEASE_SECONDS = 120;

export const callbackTypes = {
  'customer.invited': "An invitation e-mail went to the customer's admin.",
  'customer.consented': "The customer's admin signed in and granted consent; service can start.",
  'order.failed': 'An order event could not be applied; `errors` says why.',
} as const;

export interface NotifyOptions {
  /** Makes the call idempotent: the same key queues one callback, however often it is called. */
  key?: string;
  customerId?: string;
}

export type DeliveryOutcome = 'delivered' | 'retrying' | 'failed' | 'skipped' | 'missing' | 'busy';

export interface OrderCallbacks {
  /** Whether a callback URL is configured at all. */
  readonly enabled: boolean;
  /**
   * Queues a signed callback to the ordering system. Returns its id, or undefined when no
   * ORDERS_CALLBACK_URL is set. Other capabilities call this (e.g. the consent flow with
   * `customer.consented`).
   */
  notifyOrderingSystem(
    type: string,
    data: Record<string, unknown>,
    options?: NotifyOptions,
  ): Promise<{ id: string } | undefined>;
  deliver(callbackId: string, log: OrdersLog): Promise<DeliveryOutcome>;
  get(callbackId: string): Promise<OrderCallback | undefined>;
}

export function callbackIdFor(key: string): string {
  return `cb_${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)}`;
}

export function createOrderCallbacks(deps: {
  repos: OrderRepositories;
  queues: QueueSender;
  secrets: WebhookSecrets;
  audit: AuditLog;
  url: string | undefined;
  maxAttempts: number;
  retryBaseSeconds: number;
  now: () => Date;
  fetch?: typeof fetch;
}): OrderCallbacks {
  const { callbacks } = deps.repos;
  const doFetch = deps.fetch ?? fetch;

  const enqueue = (id: string, delaySeconds = 0) =>
    deps.queues.send(
      CALLBACK_QUEUE,
      { callbackId: id },
      delaySeconds ? { visibilityDelaySeconds: delaySeconds } : {},
    );

  return {
    enabled: deps.url !== undefined,

    async notifyOrderingSystem(type, data, options = {}) {
      if (!deps.url) return undefined;
      const id = options.key ? callbackIdFor(options.key) : `cb_${randomUUID().replace(/-/g, '')}`;
      const now = deps.now();
      try {
        await callbacks.create({
          id,
          type,
          occurredAt: now.toISOString(),
          ...(options.customerId ? { customerId: options.customerId } : {}),
          data,
          status: 'pending',
          attempts: 0,
          createdAt: now.toISOString(),
          updatedAt: now.toISOString(),
          // Past this without a delivery, the sweep queues it again.
          dueAt: addSeconds(now, ATTEMPT_LEASE_SECONDS),
        });
      } catch (e) {
        if (e instanceof ConflictError) return { id }; // queued before, by an earlier run of the caller
        throw e;
      }
      // The row is the promise; a lost queue message is made good by the sweep.
      await enqueue(id).catch(() => undefined);
      return { id };
    },

    get: (id) => callbacks.get(partitionOf(id), id).then((r) => r?.value),

    async deliver(callbackId, log) {
      const row = await callbacks.get(partitionOf(callbackId), callbackId);
      if (!row) return 'missing';
      if (row.value.status !== 'pending') return 'skipped';
      if (!deps.url) return 'skipped';
      const now = deps.now();
      const attempt = row.value.attempts + 1;
      // Claim this attempt with the ETag: of two copies of the message, one delivers.
      let claimed;
      try {
        claimed = await callbacks.update(
          {
            ...row.value,
            attempts: attempt,
            dueAt: addSeconds(now, ATTEMPT_LEASE_SECONDS),
            updatedAt: now.toISOString(),
          },
          row.etag,
        );
      } catch (e) {
        if (e instanceof ConflictError) return 'busy';
        throw e;
      }
      const cb = claimed.value;
      let statusCode: number | undefined;
      let problem: string | undefined;
      try {
        const secrets = await deps.secrets.current();
        if (secrets.length === 0) throw new Error('no signing secret in Key Vault');
        const body = JSON.stringify({
          id: cb.id,
          type: cb.type,
          occurredAt: cb.occurredAt,
          specVersion: SPEC_VERSION,
          data: cb.data,
        });
        const res = await doFetch(deps.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Switchboard-Orders/1',
            [SIGNATURE_HEADER]: signatureHeader(secrets, body, Math.floor(deps.now().getTime() / 1000)),
            'x-switchboard-delivery-attempt': String(attempt),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        });
        statusCode = res.status;
        await res.body?.cancel().catch(() => undefined);
        if (res.status < 200 || res.status >= 300) problem = `HTTP ${res.status}`;
      } catch (e) {
        problem = errorText(e).slice(0, 300);
      }
      const at = deps.now();
      if (problem === undefined) {
        await callbacks.update(
          {
            ...cb,
            status: 'delivered',
            deliveredAt: at.toISOString(),
            lastStatusCode: statusCode,
            lastError: undefined,
            dueAt: undefined,
            nextAttemptAt: undefined,
            updatedAt: at.toISOString(),
          },
          claimed.etag,
        );
        log.info('order_callback_delivered', { callbackId: cb.id, type: cb.type, attempt });
        return 'delivered';
      }
      if (attempt >= deps.maxAttempts) {
        await callbacks.update(
          {
            ...cb,
            status: 'failed',
            lastStatusCode: statusCode,
            lastError: problem,
            dueAt: undefined,
            nextAttemptAt: undefined,
            updatedAt: at.toISOString(),
          },
          claimed.etag,
        );
        await deps.audit.record({
          actor: 'orders',
          action: 'order.callback_failed',
          ...(cb.customerId ? { customerId: cb.customerId } : {}),
          target: cb.id,
          details: { type: cb.type, attempts: attempt, lastError: problem },
        });
        log.error('order_callback_failed', { callbackId: cb.id, type: cb.type, attempts: attempt, problem });
        return 'failed';
      }
      const delay = backoffSeconds(attempt, deps.retryBaseSeconds);
      const next = addSeconds(at, delay);
      await callbacks.update(
        {
          ...cb,
          lastStatusCode: statusCode,
          lastError: problem,
          nextAttemptAt: next,
          dueAt: addSeconds(new Date(next), ATTEMPT_LEASE_SECONDS),
          updatedAt: at.toISOString(),
        },
        claimed.etag,
      );
      await enqueue(cb.id, delay).catch((e: unknown) =>
        log.warn('order_callback_requeue_failed', { callbackId: cb.id, error: errorText(e) }),
      );
      log.warn('order_callback_retrying', { callbackId: cb.id, type: cb.type, attempt, problem, delay });
      return 'retrying';
    },
  };
}
