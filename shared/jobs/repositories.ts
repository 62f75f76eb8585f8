import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import {
  dueEntrySchema,
  leaseSchema,
  mailboxItemSchema,
  maintenanceSchema,
  sweepCursorSchema,
  type DueEntry,
  type Lease,
  type MailboxItem,
  type MaintenanceState,
  type SweepCursor,
} from './model';
import { tableKey } from './rules';

/** The platform's tables: `jobleases`, `jobsdue`, `jobmailbox`, `jobstate`. */
export const STATE_PARTITION = 'state';

export interface JobRepositories {
  leases: TableRepository<Lease>;
  due: TableRepository<DueEntry>;
  mailbox: TableRepository<MailboxItem>;
  maintenance: TableRepository<MaintenanceState>;
  sweepCursor: TableRepository<SweepCursor>;
}

/** The due index's row key sorts by due time, so "due by now" is one range within the hour's partition. */
export const dueRowKey = (e: Pick<DueEntry, 'dueAt' | 'kind' | 'itemPartition' | 'itemRow'>): string =>
  `${e.dueAt}|${e.kind}|${tableKey(e.itemPartition)}|${tableKey(e.itemRow)}`;

export const mailboxPartition = (box: string, key: string): string => `${box}|${tableKey(key)}`;

export function createJobRepositories(storage: StorageClients): JobRepositories {
  const state = storage.table('jobstate');
  return {
    leases: new TableRepository(storage.table('jobleases'), {
      entityName: 'lease',
      schema: leaseSchema,
      keys: (l) => ({ partitionKey: l.scope, rowKey: tableKey(l.key) }),
    }),
    due: new TableRepository(storage.table('jobsdue'), {
      entityName: 'due entry',
      schema: dueEntrySchema,
      keys: (e) => ({ partitionKey: e.bucket, rowKey: dueRowKey(e) }),
    }),
    mailbox: new TableRepository(storage.table('jobmailbox'), {
      entityName: 'mailbox item',
      schema: mailboxItemSchema,
      keys: (m) => ({ partitionKey: mailboxPartition(m.box, m.key), rowKey: tableKey(m.id) }),
      jsonFields: ['payload'],
    }),
    maintenance: new TableRepository(state, {
      entityName: 'maintenance switch',
      schema: maintenanceSchema,
      keys: (m) => ({ partitionKey: STATE_PARTITION, rowKey: m.name }),
    }),
    sweepCursor: new TableRepository(state, {
      entityName: 'sweep cursor',
      schema: sweepCursorSchema,
      keys: (c) => ({ partitionKey: STATE_PARTITION, rowKey: c.name }),
    }),
  };
}
