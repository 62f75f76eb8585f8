import { z } from 'zod';
import { defineMessage } from '../jobs/queues';

/** Verify one customer's access; `runId` when an operator's verify-all asked for it (its progress). */
export const verifyCustomerToken = defineMessage(
  'token-verify',
  z.object({ customerId: z.string().min(1).max(100), runId: z.string().max(40).optional() }),
);
