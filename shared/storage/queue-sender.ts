import type { QueueClient } from '@azure/storage-queue';
import { DependencyError } from '../errors';
import { describeRestError } from '../rest-error';
import type { StorageClients } from './clients';

/**
 * Puts JSON messages on a queue the way the Functions host reads them (host.json messageEncoding
 * base64): @azure/storage-queue sends plain text unless told otherwise.
 */
export interface QueueSender {
  send(queueName: string, message: unknown, options?: { visibilityDelaySeconds?: number }): Promise<void>;
}

export function encodeQueueMessage(message: unknown): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

export function createQueueSender(storage: StorageClients): QueueSender {
  const ensured = new Map<string, Promise<QueueClient>>();
  const client = (name: string) => {
    let p = ensured.get(name);
    if (!p) {
      const q = storage.queue(name);
      p = q.createIfNotExists().then(() => q);
      p.catch(() => ensured.delete(name));
      ensured.set(name, p);
    }
    return p;
  };
  return {
    async send(queueName, message, options = {}) {
      try {
        const q = await client(queueName);
        await q.sendMessage(encodeQueueMessage(message), {
          ...(options.visibilityDelaySeconds ? { visibilityTimeout: options.visibilityDelaySeconds } : {}),
        });
      } catch (e) {
        throw new DependencyError(
          'storage',
          `queue ${storage.queueName(queueName)}: ${describeRestError(e)}`,
          {
            cause: e,
          },
        );
      }
    },
  };
}
