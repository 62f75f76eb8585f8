import { z } from 'zod';
import { defineMessage } from '../jobs/queues';

/** Apply one stored order event; the message carries only its id, the row holds the truth. */
export const applyOrderEvent = defineMessage('orders', z.object({ eventId: z.string().min(1).max(200) }));
