import { randomUUID } from 'node:crypto';
import { QueueClient, QueueServiceClient, type DequeuedMessageItem } from '@azure/storage-queue';
import type { QueueTrigger } from '../../shared/triggers';
import type { QueueSettings } from './config';
import { createInvocationContext, hostLog, type Log } from './context';

/**
 * Queue triggers, following the Functions host's queue listener: poll with exponential back-off
 * when the queue is empty, take `batchSize` messages at a time and fetch more once no more than
 * `newBatchThreshold` are still being handled, keep a message invisible while its handler runs,
 * delete it on success, make it visible again after `visibilityTimeout` on failure, and after
 * `maxDequeueCount` tries copy it to `<queue>-poison` and delete it.
 */
export interface QueueStats {
  received: number;
  succeeded: number;
  failed: number;
  poisoned: number;
  inFlight: number;
}

export interface QueueListeners {
  /** Stats by function name. */
  stats(): Record<string, QueueStats>;
  /** Calls the function with `input` as the message text (the admin API); false if no such function. */
  invoke(name: string, input: string): boolean;
  /** Stops polling, puts back messages received meanwhile, and waits for handlers in progress. */
  stop(): Promise<void>;
}

export interface QueueListenerOptions {
  settings: QueueSettings;
  log: Log;
  /** How long a received message stays invisible, renewed at half time while its handler runs. */
  leaseSeconds: number;
}

const minPollingIntervalMs = 100;

export async function startQueueListeners(
  triggers: QueueTrigger[],
  connectionString: string,
  options: QueueListenerOptions,
): Promise<QueueListeners> {
  if (triggers.length === 0) return { stats: () => ({}), invoke: () => false, stop: async () => undefined };
  const service = QueueServiceClient.fromConnectionString(connectionString, {
    // Fail over quickly to the listener's own back-off instead of the SDK's minutes of retries.
    retryOptions: { maxTries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
  });
  const listeners = new Map<string, QueueListener>();
  for (const trigger of triggers) {
    const listener = new QueueListener(trigger, service, options);
    await listener.queue.createIfNotExists();
    listeners.set(trigger.name, listener);
  }
  listeners.forEach((l) => l.start());
  return {
    stats: () =>
      Object.fromEntries(
        [...listeners].map(([name, l]) => [name, { ...l.stats, inFlight: l.inFlight.size }]),
      ),
    invoke: (name, input) => {
      const listener = listeners.get(name);
      listener?.invokeDirect(input);
      return listener !== undefined;
    },
    stop: async () => {
      await Promise.all([...listeners.values()].map((l) => l.stop()));
    },
  };
}

class QueueListener {
  readonly queue: QueueClient;
  readonly poisonQueue: QueueClient;
  readonly inFlight = new Set<Promise<void>>();
  readonly stats = { received: 0, succeeded: 0, failed: 0, poisoned: 0 };
  private stopping = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly trigger: QueueTrigger,
    service: QueueServiceClient,
    private readonly options: QueueListenerOptions,
  ) {
    this.queue = service.getQueueClient(trigger.queueName);
    this.poisonQueue = service.getQueueClient(`${trigger.queueName}-poison`);
  }

  start(): void {
    this.loop = this.poll();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.inFlight);
  }

  invokeDirect(text: string): void {
    this.track(
      this.invoke(messageValue(text), { queueTrigger: text }).then(
        () => undefined,
        () => undefined, // logged by invoke
      ),
    );
  }

  private async poll(): Promise<void> {
    const { settings, log } = this.options;
    let delay = minPollingIntervalMs;
    while (!this.stopping) {
      if (this.inFlight.size > settings.newBatchThreshold) {
        await this.pause(); // woken when a handler finishes
        continue;
      }
      let messages: DequeuedMessageItem[];
      try {
        const response = await this.queue.receiveMessages({
          numberOfMessages: settings.batchSize,
          visibilityTimeout: this.options.leaseSeconds,
        });
        messages = response.receivedMessageItems;
      } catch (e) {
        hostLog(log, 'warning', `Polling queue '${this.trigger.queueName}' failed: ${(e as Error).message}`, {
          function: this.trigger.name,
        });
        messages = [];
      }
      if (this.stopping) {
        // Received while stopping: make them visible again now rather than after the lease.
        await Promise.all(messages.map((m) => this.release(m.messageId, m.popReceipt, 0)));
        break;
      }
      if (messages.length === 0) {
        await this.pause(delay);
        delay = Math.min(delay * 2, settings.maxPollingIntervalMs);
        continue;
      }
      delay = minPollingIntervalMs;
      this.stats.received += messages.length;
      for (const message of messages) this.track(this.process(message));
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => {
      this.inFlight.delete(work);
      this.wake?.();
    });
  }

  /** Waits `ms`, or until woken (a handler finished, or stop()). */
  private pause(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async process(message: DequeuedMessageItem): Promise<void> {
    const { settings, log } = this.options;
    const fields = {
      function: this.trigger.name,
      messageId: message.messageId,
      dequeueCount: message.dequeueCount,
    };
    const lease = new Lease(this.queue, message, this.options, log);
    let text: string | undefined;
    try {
      text = decodeText(message.messageText, settings.messageEncoding);
    } catch (e) {
      hostLog(log, 'error', (e as Error).message, fields);
    }
    let ok = false;
    // A message tried more often than allowed (its handler crashed the host) is not run again.
    if (text !== undefined && message.dequeueCount <= settings.maxDequeueCount) {
      try {
        await this.invoke(messageValue(text), {
          id: message.messageId,
          dequeueCount: message.dequeueCount,
          insertionTime: message.insertedOn.toISOString(),
          expirationTime: message.expiresOn.toISOString(),
          nextVisibleTime: message.nextVisibleOn.toISOString(),
          popReceipt: message.popReceipt,
          queueTrigger: text,
        });
        ok = true;
      } catch {
        // logged by invoke; the message is released or poisoned below
      }
    }
    const popReceipt = await lease.end();
    try {
      if (ok) {
        this.stats.succeeded++;
        await this.queue.deleteMessage(message.messageId, popReceipt);
      } else if (message.dequeueCount >= settings.maxDequeueCount) {
        hostLog(
          log,
          'warning',
          `Message has reached MaxDequeueCount of ${settings.maxDequeueCount}. ` +
            `Moving message to queue '${this.poisonQueue.name}'.`,
          fields,
        );
        // Copy first, then delete: a crash in between leaves a duplicate, never a loss.
        await this.poisonQueue.createIfNotExists();
        await this.poisonQueue.sendMessage(message.messageText);
        await this.queue.deleteMessage(message.messageId, popReceipt);
        this.stats.failed++;
        this.stats.poisoned++;
      } else {
        this.stats.failed++;
        await this.release(message.messageId, popReceipt, Math.floor(settings.visibilityTimeoutMs / 1000));
      }
    } catch (e) {
      // The message reappears when its lease runs out; nothing is lost.
      hostLog(log, 'error', `Completing message failed: ${(e as Error).message}`, fields);
    }
  }

  private async invoke(value: unknown, triggerMetadata: Record<string, unknown>): Promise<void> {
    const { log } = this.options;
    const invocationId = randomUUID();
    // Ids and counts only: message bodies can be large and can hold personal data.
    const fields = {
      function: this.trigger.name,
      invocationId,
      messageId: triggerMetadata.id,
      dequeueCount: triggerMetadata.dequeueCount,
    };
    const context = createInvocationContext({
      functionName: this.trigger.name,
      invocationId,
      triggerType: 'queueTrigger',
      triggerMetadata,
      log,
    });
    const started = performance.now();
    try {
      await this.trigger.handler(value, context);
      hostLog(log, 'information', `Executed '${this.trigger.name}' (Succeeded)`, {
        ...fields,
        ms: Math.round(performance.now() - started),
      });
    } catch (e) {
      hostLog(log, 'error', `Executed '${this.trigger.name}' (Failed)`, {
        ...fields,
        ms: Math.round(performance.now() - started),
        error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      });
      throw e;
    }
  }

  private async release(messageId: string, popReceipt: string, visibilitySeconds: number): Promise<void> {
    try {
      await this.queue.updateMessage(messageId, popReceipt, undefined, visibilitySeconds);
    } catch (e) {
      hostLog(this.options.log, 'warning', `Releasing message failed: ${(e as Error).message}`, {
        function: this.trigger.name,
        messageId,
      });
    }
  }
}

/**
 * Keeps a message invisible while its handler runs: renews the lease at half time. Each renewal
 * changes the pop receipt, so the final delete or update must use the latest one from end().
 */
class Lease {
  private popReceipt: string;
  private chain: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly queue: QueueClient,
    private readonly message: DequeuedMessageItem,
    private readonly options: QueueListenerOptions,
    private readonly log: Log,
  ) {
    this.popReceipt = message.popReceipt;
    this.timer = setInterval(
      () => {
        this.chain = this.chain.then(() => this.renew());
      },
      (options.leaseSeconds * 1000) / 2,
    );
  }

  async end(): Promise<string> {
    clearInterval(this.timer);
    await this.chain;
    return this.popReceipt;
  }

  private async renew(): Promise<void> {
    try {
      const r = await this.queue.updateMessage(
        this.message.messageId,
        this.popReceipt,
        undefined,
        this.options.leaseSeconds,
      );
      if (r.popReceipt) this.popReceipt = r.popReceipt;
    } catch (e) {
      hostLog(this.log, 'warning', `Renewing a message's invisibility failed: ${(e as Error).message}`, {
        messageId: this.message.messageId,
      });
    }
  }
}

/** The message text: base64 (the host's default) is decoded strictly, as .NET's Convert does. */
export function decodeText(raw: string, encoding: 'base64' | 'none'): string {
  if (encoding === 'none') return raw;
  const compact = raw.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw new Error('The message is not valid base64 (host.json messageEncoding is "base64")');
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}

/**
 * What the handler receives: like the host, a text that is a JSON object or array arrives parsed,
 * anything else (including `42` or `"quoted"`) arrives as the string itself.
 */
export function messageValue(text: string): unknown {
  const t = text.trim();
  if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
