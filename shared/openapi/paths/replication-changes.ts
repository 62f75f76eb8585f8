import { z } from 'zod';
import { changeStatuses } from '../../replication/changes/model';
import { changesRequestSchema } from '../../replication/changes/rules';
import { changeViewSchema, queuedAnswerSchema, replicateAnswerSchema } from '../../replication/changes/views';
import {
  errorResponse,
  fromZod,
  functionKey,
  jsonBody,
  jsonResponse,
  pathParam,
  queryParam,
  type PathItem,
} from '../schema';

/** Replication: changes queued for a customer's Microsoft 365 users, and "replicate now". */
const customerId = pathParam('id', 'The customer id.');
const location = { Location: { schema: { type: 'string' } } };

export const replicationChangePaths: Record<string, PathItem> = {
  '/api/customers/{id}/changes': {
    post: {
      operationId: 'queueChanges',
      tags: ['Replication'],
      summary:
        'Queue edits to users (department, usage location, licences, a Teams phone number). They are pushed to Microsoft 365 after the quiet period (REPLICATION_PUSH_QUIET_MINUTES), batched, or at once with replicate.',
      security: functionKey,
      parameters: [customerId],
      requestBody: jsonBody(fromZod(changesRequestSchema)),
      responses: {
        '202': jsonResponse(
          'Queued: one change per Graph write, with links.',
          fromZod(queuedAnswerSchema),
          location,
        ),
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
      },
    },
    get: {
      operationId: 'listChanges',
      tags: ['Replication'],
      summary:
        "The customer's queued and pushed changes with their status and Microsoft's answer, oldest first.",
      security: functionKey,
      parameters: [
        customerId,
        queryParam('status', 'Only changes in this status.', { type: 'string', enum: [...changeStatuses] }),
        queryParam('pageSize', '1-500, default 100.', { type: 'integer', minimum: 1, maximum: 500 }),
        queryParam('continuationToken', 'From the previous page.', { type: 'string' }),
      ],
      responses: {
        '200': jsonResponse(
          'One page.',
          fromZod(z.object({ items: z.array(changeViewSchema), continuationToken: z.string().nullable() })),
        ),
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
      },
    },
  },
  '/api/customers/{id}/replicate': {
    post: {
      operationId: 'replicateCustomer',
      tags: ['Replication'],
      summary:
        "Push the customer's queued changes now (Retry-Afters still hold) and ask for a delta sync of the tenant.",
      security: functionKey,
      parameters: [customerId],
      responses: {
        '202': jsonResponse('Asked.', fromZod(replicateAnswerSchema), location),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
      },
    },
  },
};
