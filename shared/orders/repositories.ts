import { createHash } from 'node:crypto';
import type { DueIndex } from '../jobs/due';
import { WorkTable } from '../jobs/work-table';
import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import {
  BODY_CHUNK_CHARS,
  MAX_BODY_CHUNKS,
  customerOrderStateSchema,
  orderEventSchema,
  orderedSubscriptionSchema,
  pendingCleanupSchema,
  waitingEventSchema,
  type BodyChunkKey,
  type OrderedSubscription,
  type PendingCleanup,
  type CustomerOrderState,
  type OrderEvent,
  type WaitingEvent,
} from './model';

/**
 * Orders' tables: `orderevents` (the work items, spread over 256 partitions by a hash of their id, so
 * there is no hot partition when an ordering system replays a backlog; a point read needs only the
 * id), `ordercustomers` (each customer's watermarks) and `orderwaiting` (events waiting for their
 * customer, partitioned by customer) and `ordercleanups` (what a cancellation left for another
 * capability, partitioned by area) and `ordersubscriptions` (what each customer ordered, partitioned
 * by customer).
 */
export const CUSTOMER_STATE_PARTITION = 'customer';

export function partitionOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 2);
}

export interface OrderRepositories {
  events: WorkTable<OrderEvent>;
  customerStates: TableRepository<CustomerOrderState>;
  waiting: TableRepository<WaitingEvent>;
  cleanups: TableRepository<PendingCleanup>;
  subscriptions: TableRepository<OrderedSubscription>;
}

export function createOrderRepositories(storage: StorageClients, due: DueIndex): OrderRepositories {
  return {
    events: new WorkTable(
      storage.table('orderevents'),
      {
        entityName: 'order event',
        schema: orderEventSchema,
        keys: (e) => ({ partitionKey: partitionOf(e.id), rowKey: e.id }),
        jsonFields: ['steps', 'result', 'errors'],
      },
      due,
      'orders.event',
    ),
    customerStates: new TableRepository(storage.table('ordercustomers'), {
      entityName: 'customer order state',
      schema: customerOrderStateSchema,
      keys: (s) => ({ partitionKey: CUSTOMER_STATE_PARTITION, rowKey: s.customerKey }),
    }),
    waiting: new TableRepository(storage.table('orderwaiting'), {
      entityName: 'waiting order event',
      schema: waitingEventSchema,
      keys: (w) => ({ partitionKey: w.customerKey, rowKey: w.eventId }),
    }),
    cleanups: new TableRepository(storage.table('ordercleanups'), {
      entityName: 'pending cleanup',
      schema: pendingCleanupSchema,
      keys: (c) => ({ partitionKey: c.area, rowKey: c.customerKey }),
    }),
    subscriptions: new TableRepository(storage.table('ordersubscriptions'), {
      entityName: 'ordered subscription',
      schema: orderedSubscriptionSchema,
      // SKUs may hold "/" (refused in Table keys): escaped.
      keys: (s) => ({ partitionKey: s.customerKey, rowKey: encodeURIComponent(s.sku) }),
    }),
  };
}

/** Splits the body over the chunk properties, never inside a surrogate pair. */
export function bodyChunks(text: string): Partial<Record<BodyChunkKey, string>> {
  const chunks: Partial<Record<BodyChunkKey, string>> = {};
  let at = 0;
  for (let i = 0; at < text.length; i++) {
    if (i >= MAX_BODY_CHUNKS) throw new RangeError('The body is too large to store.');
    let end = Math.min(at + BODY_CHUNK_CHARS, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    chunks[`body${i}` as BodyChunkKey] = text.slice(at, end);
    at = end;
  }
  return chunks;
}

export function bodyOf(event: OrderEvent): string {
  let text = '';
  for (let i = 0; i < MAX_BODY_CHUNKS; i++) text += event[`body${i}` as BodyChunkKey] ?? '';
  return text;
}
