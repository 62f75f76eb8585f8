import type { StorageClients } from '../storage/clients';
import { TableRepository } from '../storage/table-repository';
import { tokenHealthSchema, type TokenHealth } from './model';

/** One partition: customers number in the hundreds, so point reads and one-partition scans suffice. */
export const TOKEN_HEALTH_PARTITION = 'customer';
export const TOKEN_HEALTH_TABLE = 'tokenhealth';

export interface TokenRepositories {
  health: TableRepository<TokenHealth>;
}

export function createTokenRepositories(storage: StorageClients): TokenRepositories {
  return {
    health: new TableRepository(storage.table(TOKEN_HEALTH_TABLE), {
      entityName: 'token health',
      schema: tokenHealthSchema,
      keys: (h) => ({ partitionKey: TOKEN_HEALTH_PARTITION, rowKey: h.customerId.toLowerCase() }),
      jsonFields: ['grantedScopes', 'missingScopes'],
    }),
  };
}
