import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { StorageClients } from './clients';
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
}

export interface AuditLog {
  record(entry: AuditRecord): Promise<AuditEntry>;
  list(options: { customerId?: string; limit?: number; continuationToken?: string }): Promise<{
    items: AuditEntry[];
    continuationToken?: string;
  }>;
}

const MAX_TICKS = 9_999_999_999_999;

export function createAuditLog(storage: StorageClients, now: () => Date = () => new Date()): AuditLog {
  const repo = new TableRepository(storage.table('audit'), {
    entityName: 'audit entry',
    schema: auditEntrySchema,
    keys: (e) => ({ partitionKey: e.scope, rowKey: e.id }),
    jsonFields: ['details'],
  });
  return {
    async record(entry) {
      const at = now();
      // Inverted time first so a partition reads newest-first; random suffix keeps same-millisecond rows apart.
      const id = `${String(MAX_TICKS - at.getTime()).padStart(13, '0')}-${randomBytes(4).toString('hex')}`;
      // Customer ids are not case-sensitive: the partition and the field hold the canonical (lower-case) form.
      const customerId = entry.customerId?.trim().toLowerCase();
      const row: AuditEntry = {
        id,
        scope: customerId ?? PROVIDER_SCOPE,
        at: at.toISOString(),
        ...entry,
        ...(customerId !== undefined ? { customerId } : {}),
      };
      return (await repo.create(row)).value;
    },
    async list({ customerId, limit = 100, continuationToken }) {
      const page = await repo.list({
        partitionKey: customerId?.trim().toLowerCase() ?? PROVIDER_SCOPE,
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
