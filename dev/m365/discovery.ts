import { aad, tokenErrorBody } from './aad-errors';
import { aliases, type Exchange, type SimContext } from './context';
import { sendJson } from './http-util';
import type { DirectoryTenant } from './state';
import { v2Issuer } from './token-issuer';

/**
 * OpenID Connect discovery, signing keys and MSAL's instance discovery. The metadata mirrors
 * login.microsoftonline.com's: for organizations/common the endpoints keep that segment and the issuer
 * keeps the literal {tenantid} placeholder; for a tenant (id or verified domain) everything names the
 * tenant id.
 */

export type TenantSegment =
  { kind: 'multi'; segment: 'organizations' | 'common' } | { kind: 'tenant'; tenant: DirectoryTenant };

export function resolveTenantSegment(ctx: SimContext, segment: string): TenantSegment | undefined {
  const lower = segment.toLowerCase();
  if (lower === 'organizations' || lower === 'common') return { kind: 'multi', segment: lower };
  const tenant = ctx.state.findTenant(lower);
  return tenant ? { kind: 'tenant', tenant } : undefined;
}

export function sendTenantNotFound(
  ctx: SimContext,
  ex: Exchange,
  segment: string,
  error = 'invalid_tenant',
): void {
  const e = aad.tenantNotFound(segment, error);
  sendJson(
    ex.res,
    e.status,
    tokenErrorBody(e, { base: ex.base, correlationId: ex.correlationId, now: ctx.state.now() }),
  );
}

export function openIdConfiguration(ctx: SimContext, ex: Exchange, segment: string): void {
  const resolved = resolveTenantSegment(ctx, segment);
  if (!resolved) return sendTenantNotFound(ctx, ex, segment);
  const path = resolved.kind === 'multi' ? resolved.segment : resolved.tenant.id;
  const issuer =
    resolved.kind === 'multi' ? `${ex.base}/{tenantid}/v2.0` : v2Issuer(ex.base, resolved.tenant.id);
  const root = `${ex.base}/${path}`;
  sendJson(
    ex.res,
    200,
    {
      token_endpoint: `${root}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${root}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${ex.base}/oidc/userinfo`,
      authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${root}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'cloud_instance_name',
        'cloud_instance_host_name',
        'cloud_graph_host_name',
        'msgraph_host',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      tenant_region_scope:
        resolved.kind === 'multi'
          ? null
          : ['US', 'CA', 'MX'].includes(resolved.tenant.countryLetterCode)
            ? 'NA'
            : 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      // Graph is served by this simulator too, at /v1.0.
      msgraph_host: ex.host,
      rbac_url: 'https://pas.windows.net',
    },
    { 'Cache-Control': 'max-age=86400, private' },
  );
}

export function signingKeys(ctx: SimContext, ex: Exchange, segment: string): void {
  const resolved = resolveTenantSegment(ctx, segment);
  if (!resolved) return sendTenantNotFound(ctx, ex, segment);
  const issuer =
    resolved.kind === 'multi' ? `${ex.base}/{tenantid}/v2.0` : v2Issuer(ex.base, resolved.tenant.id);
  sendJson(ex.res, 200, { keys: [ctx.keys.jwk(issuer)] }, { 'Cache-Control': 'max-age=86400, private' });
}

/**
 * GET /common/discovery/instance?api-version=1.1&authorization_endpoint=… — the shape MSAL reads
 * (tenant_discovery_endpoint, api-version, metadata[{preferred_network, preferred_cache, aliases}]).
 * MSAL only calls it on login.microsoftonline.com; pass this response as `cloudDiscoveryMetadata`, or
 * list the host in `knownAuthorities`.
 */
export function instanceDiscovery(ctx: SimContext, ex: Exchange): void {
  const errorCtx = { base: ex.base, correlationId: ex.correlationId, now: ctx.state.now() };
  const endpoint = ex.url.searchParams.get('authorization_endpoint');
  if (!endpoint) {
    const e = aad.missingParameter('authorization_endpoint');
    return sendJson(ex.res, e.status, tokenErrorBody(e, errorCtx));
  }
  const hosts = aliases(ctx.port);
  let parsed: URL | undefined;
  try {
    parsed = new URL(endpoint);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.protocol !== 'https:' || !hosts.includes(parsed.host.toLowerCase())) {
    const e = aad.unknownInstance();
    return sendJson(ex.res, e.status, tokenErrorBody(e, errorCtx));
  }
  const tenantSegment = parsed.pathname.split('/').filter(Boolean)[0] ?? 'common';
  sendJson(ex.res, 200, {
    tenant_discovery_endpoint: `https://${parsed.host}/${tenantSegment}/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: hosts[0], preferred_cache: hosts[0], aliases: hosts }],
  });
}
