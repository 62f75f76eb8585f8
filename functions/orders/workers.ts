import type { InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { CALLBACK_QUEUE } from '../../shared/orders/callbacks';
import { ORDERS_QUEUE } from '../../shared/orders/intake';
import { ordersLog } from '../../shared/orders/log';
import { services } from '../../shared/services';
import { queue, timer } from '../../shared/triggers';

const eventMessage = z.object({ eventId: z.string().min(1).max(200) });
const callbackMessage = z.object({ callbackId: z.string().min(1).max(200) });

/** A message that is not ours is logged and dropped: retrying it would only send it to poison. */
function parse<T>(schema: z.ZodType<T>, message: unknown, context: InvocationContext): T | undefined {
  const parsed = schema.safeParse(message);
  if (!parsed.success) ordersLog(context).error('order_message_malformed', { queue: context.functionName });
  return parsed.success ? parsed.data : undefined;
}

/** Applies stored order events; the message carries only the event id, the row holds the truth. */
export const processOrderEvent = queue({
  name: 'processOrderEvent',
  queueName: ORDERS_QUEUE,
  handler: async (message, context) => {
    const m = parse(eventMessage, message, context);
    if (!m) return;
    const log = ordersLog(context);
    const outcome = await services().orders.processor.process(m.eventId, log);
    log.info('order_event_processed', {
      eventId: m.eventId,
      outcome,
      dequeueCount: context.triggerMetadata?.dequeueCount,
    });
  },
});

export const deliverOrderCallback = queue({
  name: 'deliverOrderCallback',
  queueName: CALLBACK_QUEUE,
  handler: async (message, context) => {
    const m = parse(callbackMessage, message, context);
    if (!m) return;
    await services().orders.callbacks.deliver(m.callbackId, ordersLog(context));
  },
});

/** Every minute: re-queues events and callbacks past their due time (never queued, poisoned, or abandoned). */
export const sweepOrders = timer({
  name: 'sweepOrders',
  schedule: '30 * * * * *',
  handler: async (_timer, context) => {
    const result = await services().orders.sweep.run(ordersLog(context));
    if (result.events + result.callbacks > 0) ordersLog(context).warn('order_sweep', { ...result });
  },
});
