import { z } from 'zod';
import { runViewSchema } from '../../jobs/views';
import { authStatusLineSchema, authStatusQuerySchema, verifyAnswerSchema } from '../../tokens/views';
import {
  errorResponse,
  fromZod,
  functionKey,
  jsonResponse,
  pathParam,
  queryParam,
  type PathItem,
} from '../schema';

const customerId = pathParam('id', 'The customer id.');
const query = fromZod(authStatusQuerySchema) as { properties: Record<string, Record<string, unknown>> };

/** Token health: the Authentication Status view, verification now, verify-all and its progress, revoke. */
export const tokenPaths: Record<string, PathItem> = {
  '/api/auth-status': {
    get: {
      operationId: 'authStatus',
      tags: ['Token health'],
      summary:
        'The Authentication Status view: each customer with admin, method, consented by, last verified, status and reason, expires-if-unused-by and granted scopes. JSON, or CSV with format=csv (or Accept: text/csv).',
      security: functionKey,
      parameters: Object.entries(query.properties).map(([name, schema]) =>
        queryParam(
          name,
          name === 'status' ? 'Only lines in this status (a page may then hold fewer).' : name,
          schema,
        ),
      ),
      responses: {
        '200': {
          description: 'One page of lines.',
          content: {
            'application/json': {
              schema: fromZod(
                z.object({ items: z.array(authStatusLineSchema), continuationToken: z.string().nullable() }),
              ),
            },
            'text/csv': { schema: { type: 'string' } },
          },
        },
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
      },
    },
  },
  '/api/customers/{id}/verify': {
    post: {
      operationId: 'verifyCustomer',
      tags: ['Token health'],
      summary: "Verify the customer's access now (redeem, prove it with Graph) and act on the result.",
      security: functionKey,
      parameters: [customerId],
      responses: {
        '200': jsonResponse('The token health now and what it set in motion.', fromZod(verifyAnswerSchema)),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
        '409': errorResponse('Conflict'),
        '503': errorResponse('Unavailable'),
      },
    },
  },
  '/api/customers/{id}/token': {
    delete: {
      operationId: 'revokeCustomerToken',
      tags: ['Token health'],
      summary:
        'Revoke our access: the refresh token is deleted from Key Vault, the status says revoked, audited.',
      security: functionKey,
      parameters: [customerId],
      responses: {
        '200': jsonResponse('Whether there was access to end.', fromZod(z.object({ revoked: z.boolean() }))),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
        '503': errorResponse('Unavailable'),
      },
    },
  },
  '/api/tokens/verify-all': {
    post: {
      operationId: 'verifyAllTokens',
      tags: ['Token health'],
      summary: 'Verify every consented customer now, in the background; the answer links to its progress.',
      security: functionKey,
      responses: {
        '202': jsonResponse(
          'Started.',
          fromZod(
            z.object({ id: z.string(), sent: z.number().int(), links: z.object({ self: z.string() }) }),
          ),
          { Location: { schema: { type: 'string' } } },
        ),
        '401': errorResponse('Unauthorized'),
        '503': errorResponse('Unavailable'),
      },
    },
  },
  '/api/jobs/{id}': {
    get: {
      operationId: 'getJob',
      tags: ['Token health'],
      summary: 'A run an operator started, with its progress.',
      security: functionKey,
      parameters: [pathParam('id', 'The run id.')],
      responses: {
        '200': jsonResponse('The run.', fromZod(runViewSchema)),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
      },
    },
  },
};
