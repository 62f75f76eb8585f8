import { anonymous, errorResponse, jsonBody, queryParam, type JsonSchema, type PathItem } from '../schema';

/**
 * Where Microsoft Graph calls us: change notifications and lifecycle events for the customer
 * tenants' users and groups. Anonymous: each item's `clientState` authenticates it.
 */
const item = (extra: Record<string, JsonSchema>): JsonSchema => ({
  type: 'object',
  required: ['subscriptionId'],
  properties: {
    subscriptionId: { type: 'string' },
    subscriptionExpirationDateTime: { type: 'string', format: 'date-time' },
    tenantId: { type: 'string' },
    clientState: { type: ['string', 'null'], maxLength: 128 },
    ...extra,
  },
});

const delivery = (extra: Record<string, JsonSchema>): JsonSchema => ({
  type: 'object',
  required: ['value'],
  properties: { value: { type: 'array', maxItems: 1000, items: item(extra) } },
});

const validationToken = queryParam(
  'validationToken',
  "Graph's validation handshake: answered 200 with the decoded token as text/plain, body ignored.",
  { type: 'string', maxLength: 1024 },
);

const responses = (what: string): Record<string, JsonSchema> => ({
  '200': {
    description: 'The validation handshake: the decoded validationToken.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  },
  '202': {
    description: `${what} Items whose clientState is wrong, or whose subscription we do not hold, are dropped.`,
  },
  '400': errorResponse('BadRequest'),
  '413': errorResponse('PayloadTooLarge'),
  '503': errorResponse('Unavailable'),
});

export const replicationNotificationPaths: Record<string, PathItem> = {
  '/api/replication/notifications': {
    post: {
      operationId: 'receiveGraphNotifications',
      tags: ['Replication'],
      summary:
        'Microsoft Graph change notifications for users and groups: each tenant named gets a delta run.',
      security: anonymous,
      parameters: [validationToken],
      requestBody: jsonBody(
        delivery({
          changeType: { type: 'string', enum: ['updated', 'deleted'] },
          resource: { type: 'string' },
          resourceData: { type: 'object' },
        }),
      ),
      responses: responses('Accepted: a delta run of each tenant is requested (coalesced).'),
    },
  },
  '/api/replication/lifecycle': {
    post: {
      operationId: 'receiveGraphLifecycle',
      tags: ['Replication'],
      summary:
        'Microsoft Graph lifecycle events (reauthorizationRequired, subscriptionRemoved, missed): handled by the tenant’s next run.',
      security: anonymous,
      parameters: [validationToken],
      requestBody: jsonBody(
        delivery({
          lifecycleEvent: {
            type: 'string',
            enum: ['reauthorizationRequired', 'subscriptionRemoved', 'missed'],
          },
        }),
      ),
      responses: responses('Accepted: the tenant’s next run reauthorizes, recreates or catches up.'),
    },
  },
};
