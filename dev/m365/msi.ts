import { randomUUID } from 'node:crypto';
import { aad } from './aad-errors';
import type { Exchange, SimContext } from './context';
import { headerValue, sendJson } from './http-util';
import { findResource } from './scopes';
import { appAccessToken } from './token-issuer';

/**
 * The App Service / Functions managed identity endpoint (IDENTITY_ENDPOINT, api-version 2019-08-01):
 * GET ?resource=…&api-version=2019-08-01 with X-IDENTITY-HEADER = IDENTITY_HEADER. The success body is
 * the documented one: access_token, expires_on (epoch seconds as a string), resource, token_type,
 * client_id. Error bodies ({ statusCode, message, correlationId }) are not documented; they carry what
 * MSAL reads (message, correlationId).
 */

const lifetimeSeconds = 24 * 3600;

export async function managedIdentityToken(ctx: SimContext, ex: Exchange): Promise<void> {
  const q = ex.url.searchParams;
  const correlationId = randomUUID();
  const fail = (statusCode: number, message: string): void =>
    sendJson(ex.res, statusCode, { statusCode, message, correlationId });
  if (headerValue(ex.req, 'x-identity-header') !== ctx.identityHeader) {
    return fail(
      401,
      'Unauthorized: the X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.',
    );
  }
  const apiVersion = q.get('api-version');
  if (apiVersion !== '2019-08-01')
    return fail(400, `The api-version '${apiVersion ?? ''}' is not supported; use 2019-08-01.`);
  const resourceParam = q.get('resource');
  if (!resourceParam) return fail(400, "The 'resource' query parameter is required.");
  const mi = ctx.state.managedIdentity;
  const requested = q.get('client_id') ?? q.get('principal_id') ?? q.get('object_id') ?? q.get('mi_res_id');
  if (requested !== null && ![mi.clientId, mi.principalId, mi.resourceId].includes(requested)) {
    return fail(400, `No managed identity with id '${requested}' is assigned to this app.`);
  }
  const tenant = ctx.state.tenant(mi.tenantId);
  const resource = findResource(resourceParam);
  if (!tenant || !resource) {
    const e = aad.resourceNotFound(resourceParam, mi.tenantId);
    return fail(400, `AADSTS${e.code}: ${e.message}`);
  }
  const audience = resourceParam.replace(/\/\.default$/i, '');
  const accessToken = await appAccessToken(ctx, ex.base, {
    tenant,
    audience,
    appId: mi.clientId,
    appDisplayName: mi.resourceId.split('/').pop() ?? 'managed identity',
    objectId: mi.principalId,
    roles: [],
    appidacr: '2',
    lifetimeSeconds,
    miResourceId: mi.resourceId,
  });
  sendJson(ex.res, 200, {
    access_token: accessToken,
    expires_on: String(Math.floor(ctx.state.now() / 1000) + lifetimeSeconds),
    resource: resourceParam,
    token_type: 'Bearer',
    client_id: mi.clientId,
  });
}
