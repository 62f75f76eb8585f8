import type { DueIndex } from '../../jobs';
import { WorkTable } from '../../jobs';
import type { StorageClients } from '../../storage/clients';
import { TableRepository } from '../../storage/table-repository';
import { partitionOf } from '../repositories';
import { changeRowSchema, pushRowSchema, type ChangeRow, type PushRow } from './model';

/**
 * `repchanges` — PartitionKey the customer (lower case), RowKey the change id (time-ordered): a
 * tenant's push reads one partition. `reppush` — one partition `push`, RowKey the customer: when the
 * tenant's next push is due (a WorkTable row, so the sweep wakes it).
 */
export const PUSH_PARTITION = 'push';

export interface ChangeRepositories {
  changes: TableRepository<ChangeRow>;
  pushes: WorkTable<PushRow>;
}

export function createChangeRepositories(storage: StorageClients, due: DueIndex): ChangeRepositories {
  return {
    changes: new TableRepository(storage.table('repchanges'), {
      entityName: 'user change',
      schema: changeRowSchema,
      keys: (c) => ({ partitionKey: partitionOf(c.customerId), rowKey: c.id }),
      jsonFields: ['profile', 'addLicenses', 'removeLicenses', 'result'],
    }),
    pushes: new WorkTable(
      storage.table('reppush'),
      {
        entityName: 'tenant push',
        schema: pushRowSchema,
        keys: (p) => ({ partitionKey: PUSH_PARTITION, rowKey: partitionOf(p.customerId) }),
      },
      due,
      'replication.push',
    ),
  };
}
