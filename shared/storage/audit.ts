import { createHash, randomBytes } from 'node:crypto';
import { odata } from '@azure/data-tables';
import { z } from 'zod';
import type { StorageClients } from './clients';
import { ConflictError } from '../errors';
import { TableRepository } from './table-repository';

/**
 * The audit log: every state change with who made it. Rows are partitioned by customer (provider-wide
 * events under `_provider`) and keyed newest-first, so "what happened to this customer" is one
 * partition read in the order an operator wants it.
 */
export const PROVIDER_SCOPE = '_provider';

const auditEntrySchema = z.object({
  id: z.string(),
  scope: z.string(),
  at: z.string(),
  actor: z.string().min(1),
  action: z.string().min(1),
  customerId: z.string().optional(),
  target: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export interface AuditRecord {
  actor: string;
  action: string;
  customerId?: string;
  target?: string;
  details?: Record<string, unknown>;
  /**
   * Names the event: recording the same key twice keeps one entry (a run repeated after a crash
   * audits its effect once). Without a key every call is a new entry.
   */
  key?: string;
}

export interface AuditLog {
  /** The entry, or undefined when an entry with the same key was recorded before. */
  record(entry: AuditRecord & { key: string }): Promise<AuditEntry | undefined>;
  record(entry: AuditRecord): Promise<AuditEntry>;
  list(options: { customerId?: string; limit?: number; continuationToken?: string }): Promise<{
    items: AuditEntry[];
    continuationToken?: string;
  }>;
}

const MAX_TICKS = 9_999_999_999_999;
/** Key markers sort after every entry id (digits), so listings read `RowKey lt '~'` and never see them. */
const MARKER_PREFIX = '~key-';

export function createAuditLog(storage: StorageClients, now: () => Date = () => new Date()): AuditLog {
  const repo = new TableRepository(storage.table('audit'), {
    entityName: 'audit entry',
    schema: auditEntrySchema,
    keys: (e) => ({ partitionKey: e.scope, rowKey: e.id }),
    jsonFields: ['details'],
  });
  const record = async (entry: AuditRecord): Promise<AuditEntry | undefined> => {
    const at = now();
    // Inverted time first so a partition reads newest-first; random suffix keeps same-millisecond rows apart.
    const id = `${String(MAX_TICKS - at.getTime()).padStart(13, '0')}-${randomBytes(4).toString('hex')}`;
    // Customer ids are not case-sensitive: the partition and the field hold the canonical (lower-case) form.
    const customerId = entry.customerId?.trim().toLowerCase();
    const { key, ...fields } = entry;
    const row: AuditEntry = {
      id,
      scope: customerId ?? PROVIDER_SCOPE,
      at: at.toISOString(),
      ...fields,
      ...(customerId !== undefined ? { customerId } : {}),
    };
    if (key === undefined) return (await repo.create(row)).value;
    // The entry and its key's marker in one transaction: a second record of the key conflicts whole.
    const marker = {
      ...row,
      id: `${MARKER_PREFIX}${createHash('sha256').update(key).digest('hex').slice(0, 40)}`,
    };
    try {
      await repo.transaction([
        { op: 'create', value: row },
        { op: 'create', value: marker },
      ]);
    } catch (e) {
      if (e instanceof ConflictError) return undefined;
      throw e;
    }
    return row;
  };
  return {
    record: record as AuditLog['record'],
    async list({ customerId, limit = 100, continuationToken }) {
      const page = await repo.list({
        partitionKey: customerId?.trim().toLowerCase() ?? PROVIDER_SCOPE,
        filter: odata`RowKey lt ${MARKER_PREFIX}`,
        pageSize: Math.min(Math.max(limit, 1), 1000),
        ...(continuationToken ? { continuationToken } : {}),
      });
      return {
        items: page.items.map((s) => s.value),
        ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
      };
    },
  };
}
