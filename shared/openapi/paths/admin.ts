import { customerChangesSchema, newCustomerSchema } from '../../onboarding/customers';
import { customerStatuses, invitationStatuses } from '../../onboarding/model';
import {
  errorResponse,
  fromZod,
  functionKey,
  jsonBody,
  jsonResponse,
  pathParam,
  queryParam,
  ref,
  type Operation,
  type PathItem,
} from '../schema';

const customerId = pathParam('id', 'The customer id.');
const page = (item: string) => ({
  type: 'object',
  required: ['items', 'continuationToken'],
  properties: { items: { type: 'array', items: ref(item) }, continuationToken: { type: ['string', 'null'] } },
});

const changeSettings = (operationId: string, summary: string): Operation => ({
  operationId,
  tags: ['Invitations'],
  summary,
  security: functionKey,
  requestBody: jsonBody({ ...ref('InvitationSettings'), required: [] }),
  responses: {
    '200': jsonResponse('The settings now.', ref('InvitationSettings')),
    '400': errorResponse('BadRequest'),
    '401': errorResponse('Unauthorized'),
    '409': errorResponse('Conflict'),
  },
});

/** The operators' API (function key). */
export const adminPaths: Record<string, PathItem> = {
  '/api/customers': {
    post: {
      operationId: 'createCustomer',
      tags: ['Customers'],
      summary: 'Create a customer (no invitation is sent until asked).',
      security: functionKey,
      requestBody: jsonBody(fromZod(newCustomerSchema)),
      responses: {
        '201': jsonResponse('Created.', ref('Customer'), { Location: { schema: { type: 'string' } } }),
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
        '409': errorResponse('Conflict'),
      },
    },
    get: {
      operationId: 'listCustomers',
      tags: ['Customers'],
      summary: 'List customers.',
      security: functionKey,
      parameters: [
        queryParam('status', 'Only customers in this state.', {
          type: 'string',
          enum: [...customerStatuses],
        }),
        queryParam('pageSize', '1-1000, default 100.', { type: 'integer', minimum: 1, maximum: 1000 }),
        queryParam('continuationToken', 'From the previous page.', { type: 'string' }),
      ],
      responses: {
        '200': jsonResponse('A page of customers.', page('Customer')),
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
      },
    },
  },
  '/api/customers/{id}': {
    get: {
      operationId: 'getCustomer',
      tags: ['Customers'],
      summary: 'A customer with its consent state.',
      security: functionKey,
      parameters: [customerId],
      responses: {
        '200': jsonResponse('The customer.', ref('Customer')),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
      },
    },
    patch: {
      operationId: 'updateCustomer',
      tags: ['Customers'],
      summary: "Correct a customer's name, admin e-mail or tenant (a consented tenant cannot move).",
      description: 'A new admin address is used by the next invitation; send one to reach the new admin.',
      security: functionKey,
      parameters: [customerId],
      requestBody: jsonBody(fromZod(customerChangesSchema)),
      responses: {
        '200': jsonResponse('The customer now.', ref('Customer')),
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
        '409': errorResponse('Conflict'),
      },
    },
  },
  '/api/customers/{id}/invitations': {
    post: {
      operationId: 'sendInvitation',
      tags: ['Invitations'],
      summary: "E-mail the customer's admin a new invitation (the previous one stops working).",
      description: 'The link is in this answer only; it is stored as a hash.',
      security: functionKey,
      parameters: [customerId],
      responses: {
        '201': jsonResponse('Sent.', {
          allOf: [
            ref('Invitation'),
            { type: 'object', required: ['url'], properties: { url: { type: 'string' } } },
          ],
        }),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
        '409': errorResponse('Conflict'),
        '503': errorResponse('Unavailable'),
      },
    },
  },
  '/api/invitations': {
    get: {
      operationId: 'listInvitations',
      tags: ['Invitations'],
      summary: 'List invitations, newest first, a page at a time.',
      security: functionKey,
      parameters: [
        queryParam('customerId', 'Only this customer’s (ids are not case-sensitive).', { type: 'string' }),
        queryParam('status', 'Only in this state.', { type: 'string', enum: [...invitationStatuses] }),
        queryParam('pageSize', '1-1000, default 100.', { type: 'integer', minimum: 1, maximum: 1000 }),
        queryParam('continuationToken', 'From the previous page.', { type: 'string' }),
      ],
      responses: {
        '200': jsonResponse(
          'A page of invitations (a page may be short, even empty, while a continuation token follows).',
          page('Invitation'),
        ),
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
      },
    },
  },
  '/api/invitations/{id}/revoke': {
    post: {
      operationId: 'revokeInvitation',
      tags: ['Invitations'],
      summary: 'Withdraw an invitation; its link stops working.',
      security: functionKey,
      parameters: [pathParam('id', 'The invitation id (inv_…).')],
      requestBody: {
        required: false,
        content: {
          'application/json': {
            schema: { type: 'object', properties: { reason: { type: 'string', maxLength: 500 } } },
          },
        },
      },
      responses: {
        '200': jsonResponse('Revoked (or already not usable).', ref('Invitation')),
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
        '404': errorResponse('NotFound'),
      },
    },
  },
  '/api/settings/invitation': {
    get: {
      operationId: 'getInvitationSettings',
      tags: ['Invitations'],
      summary: 'The invitation e-mail templates and link settings.',
      security: functionKey,
      responses: {
        '200': jsonResponse('The settings.', ref('InvitationSettings')),
        '401': errorResponse('Unauthorized'),
      },
    },
    put: changeSettings(
      'updateInvitationSettings',
      'Change the given fields; a template naming an unknown placeholder is refused.',
    ),
    patch: changeSettings('patchInvitationSettings', 'Same as PUT: only the given fields change.'),
  },
  '/api/audit': {
    get: {
      operationId: 'listAudit',
      tags: ['Operations'],
      summary:
        'Who changed what, newest first: one customer, or provider-wide events when no customer is given.',
      security: functionKey,
      parameters: [
        queryParam('customerId', 'Only this customer.', { type: 'string' }),
        queryParam('limit', '1-1000, default 100.', { type: 'integer', minimum: 1, maximum: 1000 }),
        queryParam('continuationToken', 'From the previous page.', { type: 'string' }),
      ],
      responses: {
        '200': jsonResponse('A page of audit entries.', page('AuditEntry')),
        '400': errorResponse('BadRequest'),
        '401': errorResponse('Unauthorized'),
      },
    },
  },
};
