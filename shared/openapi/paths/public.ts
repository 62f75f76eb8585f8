import { anonymous, functionKey, jsonResponse, pathParam, queryParam, ref, type PathItem } from '../schema';

const html = (description: string) => ({
  description,
  content: { 'text/html': { schema: { type: 'string' } } },
});

/** What anyone may call: health, this document, and the customer admin's sign-in pages. */
export const publicPaths: Record<string, PathItem> = {
  '/api/health': {
    get: {
      operationId: 'health',
      tags: ['Operations'],
      summary: 'Whether the service is up, and the names of the components that are down.',
      security: anonymous,
      responses: {
        '200': jsonResponse('Healthy.', ref('Health')),
        '503': jsonResponse('Something is down.', ref('Health')),
      },
    },
  },
  '/api/health/details': {
    get: {
      operationId: 'healthDetails',
      tags: ['Operations'],
      summary: 'Each component with its latency and, when down, why.',
      security: functionKey,
      responses: {
        '200': jsonResponse('Healthy.', ref('HealthDetails')),
        '503': jsonResponse('Something is down.', ref('HealthDetails')),
      },
    },
  },
  '/api/openapi.json': {
    get: {
      operationId: 'openApiDocument',
      tags: ['Operations'],
      summary: 'This document.',
      security: anonymous,
      responses: { '200': jsonResponse('OpenAPI 3.1.', { type: 'object' }) },
    },
  },
  '/authenticate/{invitationId}': {
    get: {
      operationId: 'authenticateInvitation',
      tags: ['Customer admin pages'],
      summary:
        'The page an invitation link opens: who is asking, for what, and a button to sign in with Microsoft.',
      security: anonymous,
      parameters: [pathParam('invitationId', 'The secret from the e-mailed link.')],
      responses: {
        '200': html('The invitation page.'),
        '404': html('Unknown link.'),
        '410': html('Used, expired or withdrawn.'),
      },
    },
  },
  '/authenticate/{invitationId}/start': {
    post: {
      operationId: 'authenticateStart',
      tags: ['Customer admin pages'],
      summary: "Starts Microsoft sign-in and consent (redirects to Microsoft's sign-in page).",
      security: anonymous,
      parameters: [pathParam('invitationId', 'The secret from the e-mailed link.')],
      responses: {
        '303': { description: 'To Microsoft.' },
        '404': html('Unknown link.'),
        '410': html('Not usable.'),
      },
    },
  },
  '/authenticate/OAuth2Callback': {
    get: {
      operationId: 'authenticateCallback',
      tags: ['Customer admin pages'],
      summary: 'Where Microsoft sends the admin back; shows the thank-you page or what went wrong.',
      security: anonymous,
      parameters: [
        queryParam('code', 'Authorization code.', { type: 'string' }),
        queryParam('state', 'The state we sent.', { type: 'string' }),
        queryParam('error', 'Set when sign-in or consent did not complete.', { type: 'string' }),
        queryParam('error_description', "Microsoft's description.", { type: 'string' }),
      ],
      responses: { '200': html('Thank you.'), '400': html('Something did not match.') },
    },
  },
  '/authenticate/assets/site.css': {
    get: {
      operationId: 'authenticateStylesheet',
      tags: ['Customer admin pages'],
      summary: "The pages' stylesheet.",
      security: anonymous,
      responses: { '200': { description: 'CSS.', content: { 'text/css': { schema: { type: 'string' } } } } },
    },
  },
};
