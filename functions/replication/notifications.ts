import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { ValidationError } from '../../shared/errors';
import { parseJsonBytes, readBytes, requireJsonContentType } from '../../shared/http/requests';
import { handled } from '../../shared/http/responses';
import { createLog } from '../../shared/log';
import { LIFECYCLE_ROUTE, NOTIFICATION_ROUTE } from '../../shared/replication/notifications';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

/**
 * Where Microsoft Graph delivers change notifications and lifecycle events for the tenants'
 * users and groups. Anonymous at the platform (Graph cannot send a function key): each item's
 * clientState is the authentication, checked in the service. Graph first proves the URL with a
 * validation request, answered here with the token as plain text; a delivery is answered 202 once
 * its tenants are asked for a delta run (Graph wants an answer within 3 s).
 */

/** Graph sends at most 1,000 small items per request. */
const MAX_DELIVERY_BYTES = 1024 * 1024;
const MAX_VALIDATION_TOKEN = 1024;

function validationAnswer(request: HttpRequest): HttpResponseInit | undefined {
  const token = request.query.get('validationToken');
  if (token === null) return undefined;
  if (token.length === 0 || token.length > MAX_VALIDATION_TOKEN) {
    throw new ValidationError('The validationToken is empty or too long.', [
      { field: 'validationToken', message: `1-${MAX_VALIDATION_TOKEN} characters` },
    ]);
  }
  // The decoded token, as plain text only: nosniff so no client ever renders it as anything else.
  return {
    status: 200,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    },
    body: token,
  };
}

const receiver = (name: string, route: string, kind: 'change' | 'lifecycle') =>
  http({
    name,
    route,
    methods: ['POST'],
    authLevel: 'anonymous',
    handler: handled(async (request, context) => {
      const validation = validationAnswer(request);
      if (validation) return validation;
      requireJsonContentType(request);
      const { json } = parseJsonBytes(await readBytes(request, MAX_DELIVERY_BYTES), {
        limitBytes: MAX_DELIVERY_BYTES,
      });
      await services().replication.notifications.receive(json, kind, createLog(context));
      return { status: 202, headers: { 'cache-control': 'no-store' } };
    }),
  });

export const receiveGraphNotifications = receiver('receiveGraphNotifications', NOTIFICATION_ROUTE, 'change');
export const receiveGraphLifecycle = receiver('receiveGraphLifecycle', LIFECYCLE_ROUTE, 'lifecycle');
