import { z } from 'zod';
import { defineMessage } from '../jobs/queues';

/** One delivery attempt of a stored callback; the row holds the truth, the message only its id. */
export const deliverCallback = defineMessage(
  'order-callbacks',
  z.object({ callbackId: z.string().min(1).max(200) }),
);
