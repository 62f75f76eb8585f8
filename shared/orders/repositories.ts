import { createHash } from 'node:crypto';
import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import {
  BODY_CHUNK_CHARS,
  MAX_BODY_CHUNKS,
  customerOrderStateSchema,
  orderCallbackSchema,
  orderEventSchema,
  type BodyChunkKey,
  type CustomerOrderState,
  type OrderCallback,
  type OrderEvent,
} from './model';

/**
 * Events and callbacks are spread over 256 partitions by a hash of their id (no hot partition when
 * an ordering system replays a backlog); a point read needs only the id.
 */
export const CUSTOMER_STATE_PARTITION = 'customer';

export function partitionOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 2);
}

export interface OrderRepositories {
  events: TableRepository<OrderEvent>;
  callbacks: TableRepository<OrderCallback>;
  customerStates: TableRepository<CustomerOrderState>;
}

export function createOrderRepositories(storage: StorageClients): OrderRepositories {
  return {
    events: new TableRepository(storage.table('orderevents'), {
      entityName: 'order event',
      schema: orderEventSchema,
      keys: (e) => ({ partitionKey: partitionOf(e.id), rowKey: e.id }),
      jsonFields: ['steps', 'result', 'errors'],
    }),
    callbacks: new TableRepository(storage.table('ordercallbacks'), {
      entityName: 'order callback',
      schema: orderCallbackSchema,
      keys: (c) => ({ partitionKey: partitionOf(c.id), rowKey: c.id }),
      jsonFields: ['data'],
    }),
    customerStates: new TableRepository(storage.table('ordercustomers'), {
      entityName: 'customer order state',
      schema: customerOrderStateSchema,
      keys: (s) => ({ partitionKey: CUSTOMER_STATE_PARTITION, rowKey: s.customerKey }),
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
