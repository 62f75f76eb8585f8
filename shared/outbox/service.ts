import { randomUUID } from 'node:crypto';
import { addSeconds, type Clock } from '../clock';
import { ConflictError } from '../errors';
import { backoffSeconds } from '../jobs/rules';
import { errorText, type Log } from '../log';
import type { AuditLog } from '../storage/audit';
import type { QueueSender } from '../storage/queue-sender';
import type { Callback } from './model';
import { deliverCallback } from './queues';
import type { OutboxRepositories } from './repositories';
import { callbackIdFor, partitionOf } from './rules';

/**
 * Status callbacks to the ordering system (customer invited, customer consented, order failed, and
 * later capabilities' events): an outbox row first, then a queue message, then a signed POST retried
 * with back-off until it is answered 2xx or gives up after the configured attempts. Delivery is at
 * least once: the receiver deduplicates by the callback's `id`. Any capability notifies through here.
 */
const DELIVERY_TIMEOUT_MS = 10_000;
/** How long one delivery attempt may take before the sweep considers it lost. */
const ATTEMPT_LEASE_SECONDS = 120;

export interface NotifyOptions {
  /** Makes the call idempotent: the same key queues one callback, however often it is called. */
  key?: string;
  customerId?: string;
}

export type DeliveryOutcome = 'delivered' | 'retrying' | 'failed' | 'skipped' | 'missing' | 'busy';

/** Signs a callback body: the header name and its value (the orders webhook's scheme, reversed). */
export type CallbackSigner = (body: string) => Promise<{ header: string; value: string }>;

export interface Outbox {
  /** Whether a callback URL is configured at all. */
  readonly enabled: boolean;
  /** Queues a signed callback. Returns its id, or undefined when no ORDERS_CALLBACK_URL is set. */
  notify(
    type: string,
    data: Record<string, unknown>,
    options?: NotifyOptions,
  ): Promise<{ id: string } | undefined>;
  deliver(callbackId: string, log: Log): Promise<DeliveryOutcome>;
  get(callbackId: string): Promise<Callback | undefined>;
}

export function createOutbox(deps: {
  repos: OutboxRepositories;
  queues: QueueSender;
  sign: CallbackSigner;
  audit: AuditLog;
  url: string | undefined;
  maxAttempts: number;
  retryBaseSeconds: number;
  /** Delivered and failed callbacks are kept this long, then deleted. */
  retentionDays: number;
  specVersion: string;
  now: Clock;
  fetch?: typeof fetch;
}): Outbox {
  const { callbacks } = deps.repos;
  const doFetch = deps.fetch ?? fetch;
  const enqueue = (id: string, delaySeconds = 0) =>
    deliverCallback.send(deps.queues, { callbackId: id }, delaySeconds ? { delaySeconds } : {});

  callbacks.requeueWhenDue({
    isOpen: (c) => c.status === 'pending',
    bump: (c) => ({ ...c, dueAt: addSeconds(deps.now(), ATTEMPT_LEASE_SECONDS) }),
    send: (c) => enqueue(c.id),
    log: (c, log) => log.warn('callback_requeued', { callbackId: c.id }),
  });
  callbacks.purgeWhenFinished((c) => c.status !== 'pending');

  /** The attempt's result, recorded with the claim's ETag; a finished callback is kept for a while. */
  const record = async (claimed: { value: Callback; etag: string }, next: Callback) => {
    await callbacks.update(next, claimed.etag);
    if (next.status !== 'pending') await callbacks.retain(next, deps.retentionDays, deps.now);
  };

  const post = async (cb: Callback, attempt: number) => {
    const body = JSON.stringify({
      id: cb.id,
      type: cb.type,
      occurredAt: cb.occurredAt,
      specVersion: deps.specVersion,
      data: cb.data,
    });
    const signature = await deps.sign(body);
    const res = await doFetch(deps.url!, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Switchboard-Orders/1',
        [signature.header]: signature.value,
        'x-switchboard-delivery-attempt': String(attempt),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status;
  };

  return {
    enabled: deps.url !== undefined,

    async notify(type, data, options = {}) {
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
        statusCode = await post(cb, attempt);
        if (statusCode < 200 || statusCode >= 300) problem = `HTTP ${statusCode}`;
      } catch (e) {
        problem = errorText(e).slice(0, 300);
      }
      const at = deps.now();
      const settled = {
        ...cb,
        lastStatusCode: statusCode,
        dueAt: undefined,
        nextAttemptAt: undefined,
        updatedAt: at.toISOString(),
      };
      if (problem === undefined) {
        await record(claimed, {
          ...settled,
          status: 'delivered',
          deliveredAt: at.toISOString(),
          lastError: undefined,
        });
        log.info('callback_delivered', { callbackId: cb.id, type: cb.type, attempt });
        return 'delivered';
      }
      if (attempt >= deps.maxAttempts) {
        // Audited before it is final, by key: whoever sees it failed finds the entry, and a run
        // repeated after a crash in between writes it once.
        await deps.audit.record({
          actor: 'orders',
          action: 'order.callback_failed',
          ...(cb.customerId ? { customerId: cb.customerId } : {}),
          target: cb.id,
          details: { type: cb.type, attempts: attempt, lastError: problem },
          key: `order.callback_failed|${cb.id}`,
        });
        await record(claimed, { ...settled, status: 'failed', lastError: problem });
        log.error('callback_failed', { callbackId: cb.id, type: cb.type, attempts: attempt, problem });
        return 'failed';
      }
      const delay = backoffSeconds(attempt, deps.retryBaseSeconds);
      const next = addSeconds(at, delay);
      await record(claimed, {
        ...settled,
        lastError: problem,
        nextAttemptAt: next,
        dueAt: addSeconds(new Date(next), ATTEMPT_LEASE_SECONDS),
      });
      await enqueue(cb.id, delay).catch((e: unknown) =>
        log.warn('callback_requeue_failed', { callbackId: cb.id, error: errorText(e) }),
      );
      log.warn('callback_retrying', { callbackId: cb.id, type: cb.type, attempt, problem, delay });
      return 'retrying';
    },
  };
}
