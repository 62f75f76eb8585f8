import { responses, schemas, securitySchemes } from './components';
import { adminPaths } from './paths/admin';
import { dialplanPaths } from './paths/dialplan';
import { maintenancePaths } from './paths/maintenance';
import { tokenPaths } from './paths/tokens';
import { orderEventSchemas, orderPaths, orderWebhooks } from './paths/orders';
import { publicPaths } from './paths/public';
import { replicationPaths } from './paths/replication';
import { replicationNotificationPaths } from './paths/replication-notifications';
import { replicationChangePaths } from './paths/replication-changes';
import { errorResponse, type JsonSchema, type PathItem } from './schema';

/**
 * The OpenAPI 3.1 document of every HTTP route the app registers (a test holds it to
 * `functions/index.ts` in both directions) and of the callbacks it sends. Built once per process.
 */
export const OPENAPI_VERSION = '3.1.0';

export function buildOpenApiDocument(options: { serverUrl?: string } = {}): JsonSchema {
  const paths: Record<string, PathItem> = {
    ...publicPaths,
    ...adminPaths,
    ...maintenancePaths,
    ...dialplanPaths,
    ...replicationNotificationPaths,
  };
  for (const [path, item] of Object.entries(tokenPaths)) paths[path] = { ...paths[path], ...item };
  for (const [path, item] of Object.entries(orderPaths)) paths[path] = { ...paths[path], ...item };
  for (const [path, item] of Object.entries({ ...replicationPaths, ...replicationChangePaths }))
    paths[path] = { ...paths[path], ...item };
  // Every route that reads a body reads it with the one JSON reader, which answers 415 to anything else.
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      if (op?.requestBody && !op.responses['415'])
        op.responses['415'] = errorResponse('UnsupportedMediaType');
    }
  }
  return {
    openapi: OPENAPI_VERSION,
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'Switchboard',
      version: '1',
      summary: 'Back office for Microsoft 365 and Teams calling customers: onboarding, orders, operations.',
      description:
        'Admin API calls need a function key (`x-functions-key` header or `code` query). The orders webhook ' +
        'is authenticated by its HMAC signature instead. Errors are `{ "error": { "code", "message", … } }`.',
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    tags: [
      { name: 'Orders', description: "The ordering system's webhook and its events." },
      { name: 'Customers' },
      { name: 'Invitations' },
      { name: 'Operations' },
      { name: 'SBC dial plans', description: 'SBCs, sites and prefixes, changes, script templates, import.' },
      {
        name: 'Maintenance',
        description: 'Pause background work for an upgrade; see what is queued and in flight.',
      },
      {
        name: 'Token health',
        description: "Each customer's access: verified, rotated, renewed before it stops.",
      },
      {
        name: 'Replication',
        description:
          "Each tenant's users, groups, memberships, licences and Teams voice, kept by Graph delta queries and change notifications; changes queued for its users, pushed in batches after a quiet period.",
      },
      {
        name: 'Customer admin pages',
        description: 'HTML pages for the admins who follow an invitation link.',
      },
    ],
    paths,
    webhooks: orderWebhooks,
    components: {
      schemas: { ...schemas, ...orderEventSchemas() },
      responses,
      securitySchemes,
    },
  };
}

let cached: JsonSchema | undefined;
export function openApiDocument(serverUrl?: string): JsonSchema {
  cached ??= buildOpenApiDocument(serverUrl ? { serverUrl } : {});
  return cached;
}
