import { randomBytes } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../../../dev/azurite';
import { startHost, type Host, type HostJson, type HostOptions, type LogLine } from '../../../dev/host';
import { ensureDevCertificates } from '../../../dev/tls/certs';
import { queue, type QueueTrigger } from '../../../shared/triggers';
import { sleep, waitFor } from '../../helpers/wait';

const keys = { master: 'master-key-1' };
const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const quick = (queues: NonNullable<HostJson['extensions']>['queues'] = {}): HostJson => ({
  extensions: {
    queues: {
      maxPollingInterval: '00:00:00.200',
      visibilityTimeout: '00:00:00',
      maxDequeueCount: 3,
      ...queues,
    },
  },
});

interface Call {
  message: unknown;
  metadata: Record<string, unknown>;
}

describe('local Functions host: queues', () => {
  let azurite: Azurite;
  let service: QueueServiceClient;
  let host: Host | undefined;
  let lines: LogLine[] = [];

  beforeAll(async () => {
    const tls = await ensureDevCertificates();
    azurite = await startAzurite({ tablePort: 0, queuePort: 0, tls });
    service = QueueServiceClient.fromConnectionString(azurite.connectionString);
  });
  afterAll(async () => {
    await azurite?.stop();
  });
  afterEach(async () => {
    await host?.stop();
    host = undefined;
  });

  const uniqueQueue = (): string => `q-${randomBytes(6).toString('hex')}`;

  const start = async (triggers: QueueTrigger[], hostJson: HostJson, extra: Partial<HostOptions> = {}) => {
    lines = [];
    host = await startHost({
      triggers,
      port: 0,
      hostJson,
      functionKeys: keys,
      storageConnectionString: azurite.connectionString,
      log: (line) => lines.push(line),
      ...extra,
    });
    return host;
  };

  const recording = (
    name: string,
    queueName: string,
    behaviour: (call: Call, calls: Call[]) => Promise<void>,
  ) => {
    const calls: Call[] = [];
    const trigger = queue({
      name,
      queueName,
      handler: async (message: unknown, context: InvocationContext) => {
        const call = { message, metadata: context.triggerMetadata ?? {} };
        calls.push(call);
        await behaviour(call, calls);
      },
    });
    return { calls, trigger };
  };

  const messageCount = async (queueName: string): Promise<number> =>
    (await service.getQueueClient(queueName).getProperties()).approximateMessagesCount ?? -1;

  it('delivers a base64 JSON message as an object with its metadata, then deletes it', async () => {
    const name = uniqueQueue();
    const { calls, trigger } = recording('onOrder', name, async () => undefined);
    await start([trigger], quick());
    const sent = await service
      .getQueueClient(name)
      .sendMessage(base64(JSON.stringify({ order: 42, tags: ['a'] })));
    await waitFor(() => calls.length === 1);
    const [call] = calls as [Call];
    expect(call.message).toEqual({ order: 42, tags: ['a'] });
    expect(call.metadata).toMatchObject({
      id: sent.messageId,
      dequeueCount: 1,
      queueTrigger: '{"order":42,"tags":["a"]}',
    });
    expect(Date.parse(String(call.metadata.insertionTime))).toBe(sent.insertedOn.getTime());
    expect(typeof call.metadata.popReceipt).toBe('string');
    expect(typeof call.metadata.expirationTime).toBe('string');
    expect(typeof call.metadata.nextVisibleTime).toBe('string');
    await waitFor(async () => (await messageCount(name)) === 0);
    expect(host?.queueStats().onOrder).toMatchObject({ received: 1, succeeded: 1, failed: 0, poisoned: 0 });
    // The host logs ids and counts, never the message itself.
    expect(JSON.stringify(lines)).not.toContain('order');
  });

  it('hands over text that is not a JSON object or array as a string, and honours messageEncoding none', async () => {
    const name = uniqueQueue();
    const { calls, trigger } = recording('onText', name, async () => undefined);
    await start([trigger], quick({ messageEncoding: 'none' }));
    await service.getQueueClient(name).sendMessage('hello there');
    await service.getQueueClient(name).sendMessage('42');
    await waitFor(() => calls.length === 2);
    expect(calls.map((c) => c.message).sort()).toEqual(['42', 'hello there']);
  });

  it('moves a message that always fails to <queue>-poison after maxDequeueCount tries, intact', async () => {
    const name = uniqueQueue();
    const { calls, trigger } = recording('alwaysFails', name, async () => {
      throw new Error('cannot handle this');
    });
    await start([trigger], quick({ maxDequeueCount: 3 }));
    const raw = base64(JSON.stringify({ doomed: true }));
    await service.getQueueClient(name).sendMessage(raw);
    const poison = service.getQueueClient(`${name}-poison`);
    await waitFor(
      async () => (await poison.exists()) && (await poison.peekMessages()).peekedMessageItems.length === 1,
    );
    expect(calls.map((c) => c.metadata.dequeueCount)).toEqual([1, 2, 3]);
    expect(calls.every((c) => (c.message as { doomed: boolean }).doomed)).toBe(true);
    const [poisoned] = (await poison.receiveMessages({ numberOfMessages: 32 })).receivedMessageItems;
    expect(poisoned?.messageText).toBe(raw);
    await waitFor(async () => (await messageCount(name)) === 0);
    expect(await messageCount(`${name}-poison`)).toBe(1);
    await sleep(500); // nothing more arrives
    expect(calls).toHaveLength(3);
    expect(host?.queueStats().alwaysFails).toMatchObject({
      received: 3,
      succeeded: 0,
      failed: 3,
      poisoned: 1,
    });
    expect(lines.some((l) => String(l.message).includes(`Moving message to queue '${name}-poison'`))).toBe(
      true,
    );
  });

  it('retries a message that fails once, then deletes it', async () => {
    const name = uniqueQueue();
    const { calls, trigger } = recording('flaky', name, async (_call, all) => {
      if (all.length === 1) throw new Error('first try fails');
    });
    await start([trigger], quick());
    await service.getQueueClient(name).sendMessage(base64('{"n":1}'));
    await waitFor(() => calls.length === 2);
    await waitFor(async () => (await messageCount(name)) === 0);
    await sleep(500);
    expect(calls.map((c) => c.metadata.dequeueCount)).toEqual([1, 2]);
    expect(await service.getQueueClient(`${name}-poison`).exists()).toBe(false);
    expect(host?.queueStats().flaky).toMatchObject({ received: 2, succeeded: 1, failed: 1, poisoned: 0 });
  });

  it('keeps a message invisible while its handler runs longer than the lease', async () => {
    const name = uniqueQueue();
    const { calls, trigger } = recording('longRunning', name, async () => sleep(3500));
    await start([trigger], quick(), { queueMessageLeaseSeconds: 2 });
    await service.getQueueClient(name).sendMessage(base64('{"slow":true}'));
    await waitFor(() => calls.length === 1);
    await waitFor(async () => (await messageCount(name)) === 0, 15_000);
    expect(calls).toHaveLength(1);
  });

  it('runs at most batchSize + newBatchThreshold messages at once, and handles them all', async () => {
    const name = uniqueQueue();
    let running = 0;
    let maxRunning = 0;
    const { calls, trigger } = recording('batched', name, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(150);
      running--;
    });
    const client = service.getQueueClient(name);
    await client.createIfNotExists();
    for (let i = 0; i < 7; i++) await client.sendMessage(base64(`{"i":${i}}`));
    await start([trigger], quick({ batchSize: 2, newBatchThreshold: 0 }));
    await waitFor(() => calls.length === 7);
    await waitFor(async () => (await messageCount(name)) === 0);
    expect(maxRunning).toBe(2);
    expect(calls.map((c) => (c.message as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('stop() waits for a handler in progress, which then completes its message', async () => {
    const name = uniqueQueue();
    let finished = false;
    const { calls, trigger } = recording('inFlight', name, async () => {
      await sleep(1000);
      finished = true;
    });
    const h = await start([trigger], quick());
    await service.getQueueClient(name).sendMessage(base64('{"x":1}'));
    await waitFor(() => calls.length === 1);
    await h.stop();
    expect(finished).toBe(true);
    expect(await messageCount(name)).toBe(0);
    expect(h.queueStats().inFlight).toMatchObject({ succeeded: 1, inFlight: 0 });
  });

  it('invokes a queue function through the admin API with the given input', async () => {
    const name = uniqueQueue();
    const { calls, trigger } = recording('adminQueued', name, async () => undefined);
    const h = await start([trigger], quick());
    const res = await fetch(`${h.url}/admin/functions/adminQueued`, {
      method: 'POST',
      headers: { 'x-functions-key': keys.master, 'content-type': 'application/json' },
      body: JSON.stringify({ input: '{"via":"admin"}' }),
    });
    expect(res.status).toBe(202);
    await waitFor(() => calls.length === 1);
    expect(calls[0]?.message).toEqual({ via: 'admin' });
  });

  it('treats a message that is not valid base64 as a failure and eventually poisons it', async () => {
    const name = uniqueQueue();
    const { calls, trigger } = recording('strict', name, async () => undefined);
    await start([trigger], quick({ maxDequeueCount: 2 }));
    await service.getQueueClient(name).sendMessage('not base64 at all!');
    const poison = service.getQueueClient(`${name}-poison`);
    await waitFor(async () => (await poison.exists()) && (await messageCount(`${name}-poison`)) === 1);
    expect(calls).toHaveLength(0);
    expect((await poison.peekMessages()).peekedMessageItems[0]?.messageText).toBe('not base64 at all!');
  });
});
