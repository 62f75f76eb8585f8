import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { addSeconds, type Clock } from '../clock';
import { ConflictError } from '../errors';
import { errorText, type Log } from '../log';
import type { QueueSender } from '../storage/queue-sender';
import { MAX_TRANSACTION_OPERATIONS, type Stored } from '../storage/table-repository';
import type { DueIndex } from './due';
import type { Leases } from './leases';
import type { MailboxItem } from './model';
import { defineMessage, type MessageDefinition } from './queues';
import { mailboxPartition, type JobRepositories } from './repositories';
import { tableKey } from './rules';

/**
 * A per-key mailbox: work for one key (an SBC, a tenant) is posted as items, and whoever holds the
 * key's lease drains everything pending in one go, so a burst of 500 changes to one device becomes a
 * few drains, not 500 retry loops. A message that finds the lease taken is dropped: the holder looks
 * at the mailbox again after giving the lease back, so nothing posted before that look is missed.
 * Each post also indexes a due time, so items whose messages were lost are found by the sweep.
 */
export interface MailboxDefinition<P> {
  /** Names the mailbox, its lease scope and its due-index kind. */
  name: string;
  queue: string;
  payload: z.ZodType<P>;
  /** Items taken per drain (a drain handler gets at most this many). */
  batchSize?: number;
  leaseSeconds?: number;
}

export interface Posted<P> {
  id: string;
  postedAt: string;
  payload: P;
}

export type DrainHandler<P> = (key: string, items: Posted<P>[], log: Log) => Promise<void>;

export interface DrainResult {
  outcome: 'drained' | 'empty' | 'busy';
  /** Drain handler calls made. */
  drains: number;
  items: number;
}

export interface Mailbox<P> {
  readonly message: MessageDefinition<{ key: string }>;
  /**
   * Posts an item (idempotent by `id`: posting the same id again changes nothing) and wakes the
   * key's worker, after `delaySeconds` when a quiet period should gather more.
   */
  post(
    key: string,
    item: { id?: string; payload: P },
    options?: { delaySeconds?: number },
  ): Promise<{ id: string }>;
  /** Drains the key's mailbox if this owner can take its lease. */
  drain(key: string, owner: string, handler: DrainHandler<P>, log: Log): Promise<DrainResult>;
  pending(key: string): Promise<number>;
}

/**
 * A worker's usual drain: one run per batch of items, reported as the last run's outcome with the
 * number of items it answered, so the worker's log line says what the drain did.
 */
export async function drainAndReport<P>(
  mailbox: Pick<Mailbox<P>, 'drain'>,
  key: string,
  owner: string,
  run: (key: string, items: Posted<P>[], log: Log) => Promise<object>,
  log: Log,
): Promise<Record<string, unknown>> {
  let outcome: Record<string, unknown> = {};
  const drained = await mailbox.drain(
    key,
    owner,
    async (k, items, l) => {
      outcome = { ...(await run(k, items, l)), requests: items.length };
    },
    log,
  );
  return { drain: drained.outcome, ...outcome };
}

/** The message that wakes a key's worker: its definition, for the worker's trigger and for posting. */
export function mailboxWake(
  definition: Pick<MailboxDefinition<unknown>, 'queue'>,
): MessageDefinition<{ key: string }> {
  return defineMessage(definition.queue, z.object({ key: z.string().min(1).max(200) }));
}

/** After this long without a drain, the sweep wakes the key's worker again. */
const STRANDED_AFTER_SECONDS = 600;

export function createMailbox<P>(
  definition: MailboxDefinition<P>,
  deps: { repos: JobRepositories; leases: Leases; due: DueIndex; queues: QueueSender; now: Clock },
): Mailbox<P> {
  const repo = deps.repos.mailbox;
  const box = definition.name;
  const scope = `mailbox:${box}`;
  const batchSize = definition.batchSize ?? 500;
  const leaseSeconds = definition.leaseSeconds ?? 300;
  const message = mailboxWake(definition);
  const wake = (key: string, delaySeconds?: number) =>
    message.send(deps.queues, { key }, delaySeconds ? { delaySeconds } : {});

  const take = async (key: string): Promise<Stored<MailboxItem>[]> => {
    const page = await repo.list({ partitionKey: mailboxPartition(box, key), pageSize: batchSize });
    return page.items.sort((a, b) => a.value.postedAt.localeCompare(b.value.postedAt));
  };

  const remove = async (key: string, items: Stored<MailboxItem>[]) => {
    for (let i = 0; i < items.length; i += MAX_TRANSACTION_OPERATIONS) {
      const chunk = items.slice(i, i + MAX_TRANSACTION_OPERATIONS);
      await repo.transaction(
        chunk.map((s) => ({
          op: 'delete' as const,
          partitionKey: mailboxPartition(box, key),
          rowKey: tableKey(s.value.id),
        })),
      );
    }
  };

  deps.due.on(scope, async (entry, log) => {
    const item = await repo.get(entry.partitionKey, entry.rowKey);
    if (!item) return 'done';
    log.warn('mailbox_stranded', { box, key: item.value.key });
    await deps.due.mark(
      scope,
      { partitionKey: entry.partitionKey, rowKey: entry.rowKey },
      addSeconds(deps.now(), STRANDED_AFTER_SECONDS),
    );
    await wake(item.value.key);
    return 'requeued';
  });

  return {
    message,

    async post(key, item, options = {}) {
      const id = item.id ?? `${deps.now().toISOString()}-${randomUUID()}`;
      const postedAt = deps.now().toISOString();
      const payload = definition.payload.parse(item.payload);
      const delay = options.delaySeconds ?? 0;
      await deps.due.mark(
        scope,
        { partitionKey: mailboxPartition(box, key), rowKey: tableKey(id) },
        addSeconds(deps.now(), delay + STRANDED_AFTER_SECONDS),
      );
      try {
        await repo.create({ box, key, id, postedAt, payload });
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
      }
      // The item is stored: a lost wake-up is made good by the sweep.
      await wake(key, delay).catch(() => undefined);
      return { id };
    },

    async drain(key, owner, handler, log) {
      const result: DrainResult = { outcome: 'empty', drains: 0, items: 0 };
      for (;;) {
        const lease = await deps.leases.acquire(scope, key, owner, leaseSeconds);
        if (!lease) return result.drains > 0 ? result : { ...result, outcome: 'busy' };
        try {
          let renew = false;
          for (let items = await take(key); items.length > 0; items = await take(key)) {
            // A fresh lease covers the first drain; each further one renews it first (one write fewer
            // per key in the common case of a single drain).
            if (renew) await deps.leases.renew(scope, key, owner, leaseSeconds);
            renew = true;
            await handler(
              key,
              items.map((s) => ({
                id: s.value.id,
                postedAt: s.value.postedAt,
                payload: s.value.payload as P,
              })),
              log,
            );
            result.drains++;
            result.items += items.length;
            result.outcome = 'drained';
            await remove(key, items);
          }
        } finally {
          await deps.leases
            .release(scope, key, owner)
            .catch((e: unknown) => log.warn('mailbox_release_failed', { box, key, error: errorText(e) }));
        }
        // Anything posted while we held the lease had its message dropped: look once more.
        if ((await take(key)).length === 0) return result;
      }
    },

    async pending(key) {
      let count = 0;
      for await (const _ of repo.listAll({ partitionKey: mailboxPartition(box, key) })) count++;
      return count;
    },
  };
}
