import { consentStates, customerStatuses, invitationStatuses } from '../onboarding/model';
import { callbackTypes } from '../outbox/rules';
import { orderEventStatuses } from '../orders/model';
import { dateTime, nullable, nullableDateTime, object, ref, type JsonSchema } from './schema';

/** The shapes of the answers, written out once and referenced from the paths. */
const problem = object({ field: { type: 'string' }, message: { type: 'string' } });

export const schemas: Record<string, JsonSchema> = {
  AuditEntry: object(
    {
      id: { type: 'string' },
      scope: { type: 'string', description: 'The customer id, or _provider.' },
      at: dateTime,
      actor: { type: 'string', description: 'operator, orders:<eventId>, customer-admin:<upn>, …' },
      action: { type: 'string', description: 'e.g. customer.created, invitation.sent, customer.consented' },
      customerId: { type: 'string' },
      target: { type: 'string' },
      details: { type: 'object', additionalProperties: true },
    },
    ['id', 'scope', 'at', 'actor', 'action'],
  ),
  Error: object({
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable, machine-readable.' },
        message: { type: 'string', description: 'For people; never carries a secret.' },
        errorId: { type: 'string', description: 'On 500 and 503: quote it to the provider.' },
        fields: { type: 'array', items: problem, description: 'On 400: each problem by field.' },
        reason: {
          type: 'string',
          enum: [
            'missing_signature',
            'malformed_signature',
            'timestamp_out_of_tolerance',
            'signature_mismatch',
          ],
          description: 'On a 401 from the orders webhook.',
        },
      },
      additionalProperties: true,
    },
  }),
  Customer: object({
    id: { type: 'string' },
    name: { type: 'string' },
    adminEmail: { type: 'string', format: 'email' },
    tenantDomain: nullable('string'),
    tenantId: nullable('string', { format: 'uuid' }),
    status: { type: 'string', enum: [...customerStatuses] },
    consent: object({
      state: { type: 'string', enum: [...consentStates] },
      tenantId: nullable('string', { format: 'uuid' }),
      consentedBy: nullable('string'),
      consentedAt: nullableDateTime,
      tokenExpiresAt: nullableDateTime,
    }),
    openInvitationId: nullable('string'),
    createdAt: dateTime,
    createdBy: { type: 'string' },
    updatedAt: dateTime,
  }),
  Invitation: object({
    id: { type: 'string' },
    customerId: { type: 'string' },
    sentTo: { type: 'string', format: 'email' },
    createdAt: dateTime,
    createdBy: { type: 'string' },
    expiresAt: dateTime,
    status: { type: 'string', enum: [...invitationStatuses] },
    openedAt: nullableDateTime,
    completedAt: nullableDateTime,
    completedBy: nullable('string'),
    revokedAt: nullableDateTime,
    revokedReason: nullable('string'),
  }),
  InvitationSettings: object(
    {
      subjectTemplate: { type: 'string', maxLength: 500 },
      bodyTemplate: { type: 'string', maxLength: 20000 },
      portalUrl: { type: 'string', format: 'uri' },
      providerName: { type: 'string', maxLength: 100 },
      replyTo: { type: 'string', format: 'email' },
      validityDays: { type: 'integer', minimum: 1, maximum: 30 },
      updatedAt: dateTime,
      updatedBy: { type: 'string' },
    },
    ['subjectTemplate', 'bodyTemplate', 'portalUrl', 'providerName', 'validityDays'],
  ),
  OrderProblem: object({ code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } }, [
    'code',
    'message',
  ]),
  OrderEventAccepted: object({
    id: { type: 'string' },
    type: { type: 'string' },
    status: { const: 'accepted' },
    receivedAt: dateTime,
    links: object({ self: { type: 'string' } }),
  }),
  OrderEvent: object({
    id: { type: 'string' },
    type: { type: 'string' },
    customerId: nullable('string', { description: 'Lower case.' }),
    occurredAt: dateTime,
    receivedAt: dateTime,
    status: {
      type: 'string',
      enum: [...orderEventStatuses],
      description:
        'received → queued → processing → succeeded | failed; waiting = its customer does not exist yet or a ' +
        'dependency is down (retried with back-off); rejected = a type this version does not support.',
    },
    attempts: { type: 'integer', minimum: 0 },
    nextAttemptAt: nullableDateTime,
    completedAt: nullableDateTime,
    result: { type: ['object', 'null'], additionalProperties: true },
    errors: { type: 'array', items: ref('OrderProblem') },
    steps: { type: 'array', items: { type: 'string' } },
    links: object({ self: { type: 'string' } }),
  }),
  Health: object({
    status: { type: 'string', enum: ['healthy', 'unhealthy'] },
    checkedAt: dateTime,
    down: { type: 'array', items: { type: 'string' } },
    paused: {
      type: ['boolean', 'null'],
      description: 'Background work paused for maintenance (null: unknown, storage is down).',
    },
  }),
  HealthDetails: object({
    status: { type: 'string', enum: ['healthy', 'unhealthy'] },
    checkedAt: dateTime,
    components: {
      type: 'array',
      items: object(
        {
          name: { type: 'string' },
          proves: { type: 'string', description: 'What "up" means for this component.' },
          status: { type: 'string', enum: ['up', 'down'] },
          latencyMs: { type: 'number' },
          error: { type: 'string' },
        },
        ['name', 'proves', 'status', 'latencyMs'],
      ),
    },
    paused: {
      type: ['boolean', 'null'],
      description: 'Background work paused for maintenance (null: unknown, storage is down).',
    },
  }),
  OrderCallback: {
    ...object({
      id: {
        type: 'string',
        description: 'Unique per callback and the same on every retry of it: deduplicate by it.',
      },
      type: { type: 'string', enum: Object.keys(callbackTypes) },
      occurredAt: dateTime,
      specVersion: { const: '1' },
      data: { type: 'object', additionalProperties: true },
    }),
    description: Object.entries(callbackTypes)
      .map(([t, d]) => `\`${t}\`: ${d}`)
      .join('\n'),
  },
};

const errorOf = (description: string): JsonSchema => ({
  description,
  content: { 'application/json': { schema: ref('Error') } },
});

export const responses: Record<string, JsonSchema> = {
  BadRequest: errorOf('Not valid: `error.fields` names each problem.'),
  Unauthorized: errorOf('No valid function key (admin API) or signature (webhook).'),
  NotFound: errorOf('No such thing.'),
  Conflict: errorOf('Conflicts with the current state (or with a concurrent change); nothing was changed.'),
  PayloadTooLarge: errorOf('The body is larger than allowed.'),
  UnsupportedMediaType: errorOf('The body is not JSON: send `Content-Type: application/json` (UTF-8).'),
  Unavailable: errorOf('A dependency (storage, Key Vault, e-mail, Microsoft) is unavailable; retry later.'),
};

export const securitySchemes: Record<string, JsonSchema> = {
  functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
  functionKeyQuery: { type: 'apiKey', in: 'query', name: 'code' },
  orderSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Switchboard-Signature',
    description:
      '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; several `v1=` allowed. See docs/orders-webhook.md.',
  },
};
