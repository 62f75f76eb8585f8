import { randomUUID } from 'node:crypto';
import type { InvocationContext } from '@azure/functions';
import { createLog, errorText, type Log } from '../log';
import type { QueueSender } from '../storage/queue-sender';
import { queue, timer, type QueueTrigger, type TimerTrigger } from '../triggers';
import type { Maintenance } from './maintenance';
import { poisonQueueOf, type MessageDefinition } from './queues';

/**
 * The two wrappers every background trigger goes through (beside `handled()` for HTTP): a queue
 * worker parses its message with the message's definition (a malformed one goes straight to the
 * poison queue with a log line), honours the pause switch, and logs one structured outcome with the
 * dequeue count; a timer honours the pause switch and logs what its run did.
 */
export interface JobContext {
  log: Log;
  /**
   * Who this run is, for leases: the queue message's id, which a redelivery of the same message
   * keeps, so a retry after a failed run takes its own lease back at once.
   */
  owner: string;
  dequeueCount: number;
}

export interface JobPlatform {
  maintenance: Maintenance;
  queues: QueueSender;
}

export function createJobTriggers(platform: () => JobPlatform) {
  return {
    worker<M>(spec: {
      name: string;
      message: MessageDefinition<M>;
      handle: (message: M, job: JobContext) => Promise<string | Record<string, unknown> | void>;
    }): QueueTrigger {
      return queue({
        name: spec.name,
        queueName: spec.message.queue,
        handler: async (raw, context: InvocationContext) => {
          const meta = context.triggerMetadata ?? {};
          const dequeueCount = Number(meta.dequeueCount ?? 1);
          const log = createLog(context, { queue: spec.message.queue });
          const { maintenance, queues } = platform();
          const message = spec.message.parse(raw);
          if (message === undefined) {
            log.error('job_message_malformed', { dequeueCount });
            await queues.send(poisonQueueOf(spec.message.queue), raw);
            return;
          }
          if (await maintenance.isPaused()) {
            // Held, not executed: the same message comes back after the delay and looks again.
            await spec.message.send(queues, message, { delaySeconds: maintenance.holdSeconds });
            log.info('job_held_paused', { dequeueCount });
            return;
          }
          const started = Date.now();
          const owner =
            typeof meta.id === 'string' && meta.id !== '' ? `msg:${meta.id}` : `run:${randomUUID()}`;
          try {
            const outcome = await spec.handle(message, { log, owner, dequeueCount });
            log.info('job_finished', {
              ...(typeof outcome === 'object' ? outcome : { outcome: outcome ?? 'done' }),
              dequeueCount,
              ms: Date.now() - started,
            });
          } catch (e) {
            log.warn('job_failed', { dequeueCount, ms: Date.now() - started, error: errorText(e) });
            throw e;
          }
        },
      });
    },

    scheduled(spec: {
      name: string;
      schedule: string;
      run: (log: Log) => Promise<Record<string, unknown> | void>;
    }): TimerTrigger {
      return timer({
        name: spec.name,
        schedule: spec.schedule,
        handler: async (_timer, context) => {
          const log = createLog(context, { timer: spec.name });
          if (await platform().maintenance.isPaused()) {
            log.info('timer_skipped_paused');
            return;
          }
          const started = Date.now();
          try {
            const result = await spec.run(log);
            log.info('timer_finished', { ...(result ?? {}), ms: Date.now() - started });
          } catch (e) {
            log.error('timer_failed', { ms: Date.now() - started, error: errorText(e) });
            throw e;
          }
        },
      });
    },
  };
}
