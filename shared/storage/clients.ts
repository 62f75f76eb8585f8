import type { TokenCredential } from '@azure/identity';
import { TableClient, TableServiceClient, type TableServiceClientOptions } from '@azure/data-tables';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import type { Config } from '../config';

/**
 * Builds Table and Queue clients from the storage settings: a connection string (Azurite, or a Key
 * Vault reference in Azure) or identity-based endpoints with the app's managed identity. Names get
 * the configured prefix so several deployments or test runs can share one account.
 */
export interface StorageClients {
  table(name: string): TableClient;
  queue(name: string): QueueClient;
  tableName(name: string): string;
  queueName(name: string): string;
  tableService(): TableServiceClient;
  queueService(): QueueServiceClient;
}

/** Sees every Table Storage request (method and URL): what the benchmarks count and the tests inspect. */
export type TableRequestObserver = (request: { method: string; url: string }) => void;

export function createStorageClients(
  storage: Config['storage'],
  credential: TokenCredential,
  options: { observeTables?: TableRequestObserver } = {},
): StorageClients {
  const prefix = storage.namePrefix;
  const observe = options.observeTables;
  const tableOptions: TableServiceClientOptions = observe
    ? {
        additionalPolicies: [
          {
            position: 'perCall',
            policy: {
              name: 'observeTables',
              sendRequest: (request, next) => {
                observe({ method: request.method, url: request.url });
                return next(request);
              },
            },
          },
        ],
      }
    : {};
  const tableName = (name: string) => `${prefix}${name}`;
  const queueName = (name: string) => `${prefix}${name}`;
  return {
    tableName,
    queueName,
    table: (name) =>
      storage.kind === 'connectionString'
        ? TableClient.fromConnectionString(storage.connectionString, tableName(name), tableOptions)
        : new TableClient(storage.tableUrl, tableName(name), credential, tableOptions),
    tableService: () =>
      storage.kind === 'connectionString'
        ? TableServiceClient.fromConnectionString(storage.connectionString)
        : new TableServiceClient(storage.tableUrl, credential),
    queueService: () =>
      storage.kind === 'connectionString'
        ? QueueServiceClient.fromConnectionString(storage.connectionString)
        : new QueueServiceClient(storage.queueUrl, credential),
    queue: (name) =>
      storage.kind === 'connectionString'
        ? new QueueClient(storage.connectionString, queueName(name))
        : new QueueClient(`${storage.queueUrl}/${queueName(name)}`, credential),
  };
}
