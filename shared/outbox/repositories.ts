import type { DueIndex } from '../jobs/due';
import { WorkTable } from '../jobs/work-table';
import type { StorageClients } from '../storage/clients';
import { callbackSchema, type Callback } from './model';
import { partitionOf } from './rules';

export interface OutboxRepositories {
  callbacks: WorkTable<Callback>;
}

export function createOutboxRepositories(storage: StorageClients, due: DueIndex): OutboxRepositories {
  return {
    callbacks: new WorkTable(
      storage.table('ordercallbacks'),
      {
        entityName: 'status callback',
        schema: callbackSchema,
        keys: (c) => ({ partitionKey: partitionOf(c.id), rowKey: c.id }),
        jsonFields: ['data'],
      },
      due,
      'outbox.callback',
    ),
  };
}
