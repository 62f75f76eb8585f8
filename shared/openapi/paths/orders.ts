import { z } from 'zod';
import { envelopeSchema, SPEC_VERSION } from '../../orders/envelope';
import { eventTypes } from '../../orders/event-types';
import { orderEventStatuses } from '../../orders/model';
import {
  errorResponse,
  fromZod,
  functionKey,
  jsonBody,
  jsonResponse,
  pathParam,
  queryParam,
  ref,
  type JsonSchema,
  type PathItem,
} from '../schema';

/** One schema per event type: the envelope with `type` fixed and that type's `data`. */
export function orderEventSchemas(): Record<string, JsonSchema> {
  return Object.fromEntries(
    Object.entries(eventTypes).map(([type, def]) => {
      const schema = fromZod(envelopeSchema.extend({ type: z.literal(type), data: def.data }));
      return [eventSchemaName(type), { ...schema, description: def.summary }];
    }),
  );
}

export const eventSchemaName = (type: string) =>
  `OrderEvent_${type.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`;

const eventId = pathParam('id', "The ordering system's event id.");
const location = {
  Location: { description: 'GET it for the status.', schema: { type: 'string' } },
  'Idempotent-Replayed': {
    description: '`true` when this is a copy of an event already received (the first answer, repeated).',
    schema: { type: 'string', enum: ['true'] },
  },
};

export const orderPaths: Record<string, PathItem> = {
  '/api/orders/events': {
    post: {
      operationId: 'receiveOrderEvent',
      tags: ['Orders'],
      summary: 'Receive an order event from the ordering system (signed webhook).',
      description: [
        'Signed with HMAC-SHA256 (header `X-Switchboard-Signature`, see docs/orders-webhook.md), at most 256 KB.',
        'A valid event is stored, then answered 202 and applied in the background. The same event again',
        '(same `id`, same content) gets the first answer again (header `Idempotent-Replayed: true`) and has no',
        'second effect; the same `id` with other content is 409. An unknown `type` (or `specVersion`) is stored',
        'and answered 422. Unknown fields are ignored and null optional fields read as absent.',
        `\`specVersion\` is \`${SPEC_VERSION}\` (or absent).`,
      ].join(' '),
      security: [{ orderSignature: [] }],
      requestBody: jsonBody({ oneOf: Object.keys(eventTypes).map((t) => ref(eventSchemaName(t))) }),
      responses: {
        '202': jsonResponse('Stored; it will be applied.', ref('OrderEventAccepted'), location),
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
        '409': errorResponse('Conflict'),
        '413': errorResponse('PayloadTooLarge'),
        '422': jsonResponse(
          'Stored, but its type (or spec version) is not supported.',
          ref('Error'),
          location,
        ),
        '503': errorResponse('Unavailable'),
      },
    },
    get: {
      operationId: 'listOrderEvents',
      tags: ['Orders'],
      summary: 'List order events, newest state first within each page.',
      security: functionKey,
      parameters: [
        queryParam('status', 'Only events in this state.', { type: 'string', enum: [...orderEventStatuses] }),
        queryParam('customerId', 'Only events about this customer.', { type: 'string' }),
        queryParam('type', 'Only events of this type.', { type: 'string' }),
        queryParam('pageSize', '1-1000, default 100.', { type: 'integer', minimum: 1, maximum: 1000 }),
        queryParam('continuationToken', 'From the previous page.', { type: 'string' }),
      ],
      responses: {
        '200': jsonResponse('A page of events.', {
          type: 'object',
          required: ['items', 'continuationToken'],
          properties: {
            items: { type: 'array', items: ref('OrderEvent') },
            continuationToken: { type: ['string', 'null'] },
          },
        }),
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
      },
    },
  },
  '/api/orders/events/{id}': {
    get: {
      operationId: 'getOrderEvent',
      tags: ['Orders'],
      summary: "An event's status, result and errors, with the data it carried.",
      security: functionKey,
      parameters: [eventId],
      responses: {
        '200': jsonResponse('The event.', {
          allOf: [ref('OrderEvent'), { type: 'object', properties: { data: { type: ['object', 'null'] } } }],
        }),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
      },
    },
  },
  '/api/orders/events/{id}/retry': {
    post: {
      operationId: 'retryOrderEvent',
      tags: ['Orders'],
      summary: 'Queue a failed event again (or a rejected one after an upgrade); a waiting one is tried now.',
      security: functionKey,
      parameters: [eventId],
      responses: {
        '202': jsonResponse('Queued.', ref('OrderEvent')),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
        '409': errorResponse('Conflict'),
        '422': jsonResponse('Its type is still not supported.', ref('Error')),
      },
    },
  },
};

/** What we POST to ORDERS_CALLBACK_URL (OpenAPI 3.1 `webhooks`). */
export const orderWebhooks: Record<string, PathItem> = {
  orderCallback: {
    post: {
      operationId: 'orderCallback',
      tags: ['Orders'],
      summary:
        'A status callback to the ordering system, signed like the webhook (`X-Switchboard-Signature`).',
      description:
        'Retried with exponential back-off until answered 2xx, then given up after ORDERS_CALLBACK_MAX_ATTEMPTS. ' +
        'Delivered at least once and possibly out of order: deduplicate by `id`, order by `occurredAt`.',
      requestBody: jsonBody(ref('OrderCallback')),
      responses: { '2XX': { description: 'Received; not sent again.' } },
    },
  },
};
