import { connect, createServer, type Server } from 'node:net';
import { TableClient } from '@azure/data-tables';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../../../dev/azurite';
import { ensureDevCertificates } from '../../../dev/tls/certs';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startAzurite', () => {
  let azurite: Azurite;

  beforeAll(async () => {
    const tls = await ensureDevCertificates();
    azurite = await startAzurite({ tablePort: 0, queuePort: 0, tls });
  });
  afterAll(async () => {
    await azurite?.stop();
  });

  it('serves tables over https', async () => {
    expect(azurite.tableUrl).toBe(`https://127.0.0.1:${azurite.tablePort}/devstoreaccount1`);
    const table = TableClient.fromConnectionString(azurite.connectionString, 'azuritetest');
    await table.createTable();
    await table.createEntity({ partitionKey: 'p', rowKey: 'r', greeting: 'hello' });
    const entity = await table.getEntity<{ greeting: string }>('p', 'r');
    expect(entity.greeting).toBe('hello');
  });

  it('serves queues over https', async () => {
    const queue = new QueueClient(azurite.connectionString, 'azuritetest');
    await queue.create();
    await queue.sendMessage('round trip');
    const received = await queue.receiveMessages();
    expect(received.receivedMessageItems.map((m) => m.messageText)).toEqual(['round trip']);
    expect(received.receivedMessageItems[0]?.dequeueCount).toBe(1);
  });

  it('frees both ports on stop', async () => {
    const tls = await ensureDevCertificates();
    const other = await startAzurite({ tablePort: 0, queuePort: 0, tls });
    expect(await accepts(other.tablePort)).toBe(true);
    expect(await accepts(other.queuePort)).toBe(true);
    await other.stop();
    expect(await accepts(other.tablePort)).toBe(false);
    expect(await accepts(other.queuePort)).toBe(false);
  });

  it('names the service whose port is taken', async () => {
    const tls = await ensureDevCertificates();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    try {
      await expect(startAzurite({ tablePort: 0, queuePort: address.port, tls })).rejects.toThrow(
        new RegExp(`Azurite queue service did not start on 127.0.0.1:${address.port}[^]*EADDRINUSE`),
      );
    } finally {
      blocker.close();
    }
  });
});
