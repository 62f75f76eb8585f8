import type { z } from 'zod';
import type { QueueSender } from '../storage/queue-sender';

/**
 * One typed definition per queue message, used both to send and to parse, so a sender and its
 * worker cannot disagree about a field.
 */
export interface MessageDefinition<M> {
  /** The queue's name without the deployment's storage prefix. */
  readonly queue: string;
  readonly schema: z.ZodType<M>;
  send(sender: QueueSender, message: M, options?: { delaySeconds?: number }): Promise<void>;
  /** The message, or undefined when it is not one of ours (the worker sends it to poison). */
  parse(raw: unknown): M | undefined;
}

const defined = new Set<string>();

/** Every queue a message is defined for (the maintenance view counts what waits in each). */
export const definedQueues = (): string[] => [...defined].sort();

export function defineMessage<M>(queue: string, schema: z.ZodType<M>): MessageDefinition<M> {
  defined.add(queue);
  return {
    queue,
    schema,
    send: (sender, message, options = {}) =>
      sender.send(
        queue,
        schema.parse(message),
        options.delaySeconds ? { visibilityDelaySeconds: Math.ceil(options.delaySeconds) } : {},
      ),
    parse(raw) {
      const parsed = schema.safeParse(raw);
      return parsed.success ? parsed.data : undefined;
    },
  };
}

/** Where the Functions host moves a message after its last failed attempt, and where we put malformed ones. */
export const poisonQueueOf = (queue: string): string => `${queue}-poison`;
