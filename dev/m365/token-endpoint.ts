import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { aad, grantFailure, tokenErrorBody, type AadError } from './aad-errors';
import { authenticateClient } from './client-auth';
import type { Exchange, SimContext } from './context';
import { resolveTenantSegment } from './discovery';
import { headerValue, parseForm, readBody, sendJson } from './http-util';
import { findResource, GRAPH_APP_ID, GRAPH_RESOURCE, parseScopes } from './scopes';
import type { SeedApp } from './seed';
import {
  authCodeLifetimeMs,
  refreshTokenInactivityMs,
  sha256,
  union,
  type DirectoryTenant,
  type DirectoryUser,
  type GrantedScopes,
  type RefreshTokenRecord,
  type TokenFault,
} from './state';
import {
  appAccessToken,
  clientInfo,
  idToken,
  newRefreshToken,
  userAccessToken,
  type UserTokenInput,
} from './token-issuer';

/**
 * POST /{tenant}/oauth2/v2.0/token: authorization_code (PKCE, one-time codes that live 10 minutes),
 * refresh_token (a new refresh token every time, the old one stays valid; revocation, inactivity and
 * withdrawn consent fail with invalid_grant) and client_credentials (`<resource>/.default`). Bodies
 * follow test/fixtures/microsoft/token-success*.json and token-error*.json.
 */

const noStore = { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' };

export async function tokenEndpoint(ctx: SimContext, ex: Exchange, tenantSegment: string): Promise<void> {
  const errorCtx = { base: ex.base, correlationId: ex.correlationId, now: ctx.state.now() };
  const headers = { ...noStore, 'client-request-id': ex.correlationId };
  const fail = (e: AadError): void =>
    sendJson(ex.res, e.status, tokenErrorBody(e, errorCtx), {
      ...headers,
      ...(e.retryAfter ? { 'Retry-After': e.retryAfter } : {}),
    });
  if (ctx.state.latency.tokenMs > 0) await sleep(ctx.state.latency.tokenMs);
  const contentType = headerValue(ex.req, 'content-type') ?? '';
  const body = await readBody(ex.req);
  // Anything but a form body reads as an empty form, so the first missing parameter is reported.
  const form = parseForm(
    contentType.toLowerCase().startsWith('application/x-www-form-urlencoded') ? body : '',
  );
  const resolved = resolveTenantSegment(ctx, tenantSegment);
  if (!resolved) return fail(aad.tenantNotFound(tenantSegment));
  const grantType = form.get('grant_type');
  if (!grantType) return fail(aad.missingParameter('grant_type'));
  if (!['authorization_code', 'refresh_token', 'client_credentials'].includes(grantType)) {
    return fail(aad.unsupportedGrantType(grantType));
  }
  if (grantType === 'client_credentials' && resolved.kind === 'multi') {
    return fail(resolved.segment === 'common' ? aad.grantNotOnCommon() : aad.noTenantInfo());
  }
  const directoryName = resolved.kind === 'tenant' ? resolved.tenant.displayName : tenantSegment;
  const auth = await authenticateClient(ctx, ex, form, tenantSegment, directoryName);
  if ('error' in auth) return fail(auth.error);
  const pathTenant = resolved.kind === 'tenant' ? resolved.tenant : undefined;

  let result: Record<string, unknown> | AadError;
  if (grantType === 'authorization_code')
    result = await redeemCode(ctx, ex, form, auth.app, auth.appidacr, pathTenant);
  else if (grantType === 'refresh_token')
    result = await redeemRefreshToken(ctx, ex, form, auth.app, auth.appidacr, pathTenant);
  else
    result = await clientCredentials(ctx, ex, form, auth.app, auth.appidacr, pathTenant as DirectoryTenant);
  if (isAadError(result)) return fail(result);
  sendJson(ex.res, 200, result, headers);
}

function isAadError(value: Record<string, unknown> | AadError): value is AadError {
  return typeof value.error === 'string' && typeof value.code === 'number';
}

function pkceMatches(challenge: string, method: 'S256' | 'plain' | undefined, verifier: string): boolean {
  const computed = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  return computed === challenge;
}

/**
 * The scopes of the tokens: those asked for on the token request (or the grant's when none are), each
 * Graph permission and OIDC scope already consented; `.default` means everything consented.
 */
function tokenScopes(
  raw: string | undefined,
  base: GrantedScopes,
  consented: string[],
  app: SeedApp,
): GrantedScopes | AadError {
  if (!raw?.trim()) return base;
  const parsed = parseScopes(raw);
  if (parsed.invalid) return aad.invalidScope(parsed.invalid);
  if (parsed.otherResources.length) {
    return parsed.graph.length || parsed.graphDefault
      ? aad.multipleResources(raw)
      : aad.consentRequired(app.clientId, app.displayName);
  }
  const graph = parsed.graphDefault
    ? union(
        consented.filter((s) => parseScopes(s).graph.length),
        parsed.graph,
      )
    : parsed.graph;
  const oidc = [...parsed.oidc];
  if ([...graph, ...oidc].some((s) => !consented.includes(s)))
    return aad.consentRequired(app.clientId, app.displayName);
  return { graph, oidc, graphByUri: graph.length ? parsed.graphByUri : base.graphByUri };
}

function scopeString(scopes: GrantedScopes): string {
  const graph = scopes.graph.map((s) => (scopes.graphByUri ? `${GRAPH_RESOURCE}/${s}` : s));
  return [...graph, ...scopes.oidc.filter((s) => s !== 'offline_access')].join(' ');
}

async function userTokens(
  ctx: SimContext,
  ex: Exchange,
  form: Map<string, string>,
  input: UserTokenInput,
  /** The refresh token family and generation to issue, or none (no offline_access). */
  refresh: { familyId: string; generation: number } | undefined,
): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    scope: scopeString(input.scopes),
    expires_in: ctx.accessTokenLifetimeSeconds,
    ext_expires_in: ctx.accessTokenLifetimeSeconds,
    access_token: await userAccessToken(ctx, input),
  };
  if (refresh) {
    body.refresh_token = newRefreshToken(ctx, {
      clientId: input.app.clientId,
      tenantId: input.tenant.id,
      userId: input.user.id,
      scopes: input.scopes,
      authTime: input.authTime,
      sessionId: input.sessionId,
      familyId: refresh.familyId,
      generation: refresh.generation,
    });
  }
  if (input.scopes.oidc.includes('openid')) body.id_token = await idToken(ctx, ex.base, input);
  if (form.get('client_info') === '1') body.client_info = clientInfo(input.user);
  return body;
}

async function redeemCode(
  ctx: SimContext,
  ex: Exchange,
  form: Map<string, string>,
  app: SeedApp,
  appidacr: '1' | '2',
  pathTenant: DirectoryTenant | undefined,
): Promise<Record<string, unknown> | AadError> {
  const code = form.get('code');
  if (!code) return aad.missingParameter('code');
  const record = ctx.state.codes.get(sha256(code));
  if (!record || record.clientId !== app.clientId) return aad.invalidCode();
  if (record.redeemedAt !== undefined) return aad.codeRedeemed();
  if (ctx.state.now() - record.createdAt > authCodeLifetimeMs) return aad.expiredGrant();
  if (pathTenant && pathTenant.id !== record.tenantId) return aad.codeOtherTenant();
  const redirectUri = form.get('redirect_uri');
  if (!redirectUri) return aad.missingParameter('redirect_uri');
  if (redirectUri !== record.redirectUri)
    return aad.redirectUriMismatch(redirectUri, app.clientId, 'invalid_client', 401);
  if (record.codeChallenge !== undefined) {
    const verifier = form.get('code_verifier');
    if (!verifier || !pkceMatches(record.codeChallenge, record.codeChallengeMethod, verifier))
      return aad.pkceMismatch();
  }
  const tenant = ctx.state.tenant(record.tenantId);
  const user = ctx.state.findUser(record.tenantId, record.userId);
  if (!tenant || !user) return aad.invalidCode();
  const consented = ctx.state.consentedScopes(tenant.id, app.clientId, user.id);
  const scopes = tokenScopes(form.get('scope'), record.scopes, consented, app);
  if ('error' in scopes) return scopes;
  // The id token and refresh token follow what the sign-in asked for (openid, offline_access).
  scopes.oidc = union(record.scopes.oidc, scopes.oidc);
  record.redeemedAt = ctx.state.now();
  const result = await userTokens(
    ctx,
    ex,
    form,
    {
      app,
      tenant,
      user,
      scopes,
      authTime: record.authTime,
      sessionId: record.sessionId,
      nonce: record.nonce,
      appidacr,
    },
    record.scopes.oidc.includes('offline_access') ? { familyId: randomUUID(), generation: 1 } : undefined,
  );
  ctx.state.persist();
  return result;
}

/**
 * The refresh_token grant, with the test instruments around it: each presentation is logged with its
 * family and generation (so a test can prove an old version is never used again), and a failure a
 * test imposed answers instead of the real checks.
 */
async function redeemRefreshToken(
  ctx: SimContext,
  ex: Exchange,
  form: Map<string, string>,
  app: SeedApp,
  appidacr: '1' | '2',
  pathTenant: DirectoryTenant | undefined,
): Promise<Record<string, unknown> | AadError> {
  const token = form.get('refresh_token');
  const record = token ? ctx.state.refreshTokens.get(sha256(token)) : undefined;
  const familyId = record ? (record.familyId ?? record.tokenHash) : undefined;
  const use =
    record && familyId && record.clientId === app.clientId
      ? {
          familyId,
          generation: record.generation ?? 1,
          newestGeneration: ctx.state.newestGeneration(familyId),
          tenantId: record.tenantId,
          userId: record.userId,
          at: ctx.state.now(),
          outcome: 'pending',
        }
      : undefined;
  if (use) ctx.state.refreshTokenUses.push(use);
  const fault = ctx.state.takeTokenFault(record?.tenantId ?? pathTenant?.id);
  const result = fault
    ? imposedFailure(ctx, fault, app, record)
    : await checkedRefresh(ctx, ex, form, app, appidacr, pathTenant);
  if (use) use.outcome = isAadError(result) ? `AADSTS${result.code}` : 'issued';
  return result;
}

function imposedFailure(
  ctx: SimContext,
  fault: TokenFault,
  app: SeedApp,
  record: RefreshTokenRecord | undefined,
): AadError {
  if (fault.failure === 'temporarily_unavailable') return aad.temporarilyUnavailable(fault.retryAfter);
  if (fault.failure === 'throttled') return aad.throttled(fault.retryAfter ?? '1');
  const tenant = record ? ctx.state.tenant(record.tenantId) : undefined;
  const user = record ? ctx.state.userById(record.userId) : undefined;
  return grantFailure(fault.failure, {
    clientId: app.clientId,
    appName: app.displayName,
    tenantId: record?.tenantId ?? fault.tenantId ?? 'organizations',
    tenantName: tenant?.displayName ?? record?.tenantId ?? 'organizations',
    upn: user?.userPrincipalName ?? record?.userId ?? 'unknown',
    issuedAt: record?.issuedAt ?? ctx.state.now(),
    now: ctx.state.now(),
  });
}

async function checkedRefresh(
  ctx: SimContext,
  ex: Exchange,
  form: Map<string, string>,
  app: SeedApp,
  appidacr: '1' | '2',
  pathTenant: DirectoryTenant | undefined,
): Promise<Record<string, unknown> | AadError> {
  const token = form.get('refresh_token');
  if (!token) return aad.missingParameter('refresh_token');
  const record = ctx.state.refreshTokens.get(sha256(token));
  if (!record || record.clientId !== app.clientId) return aad.invalidRefreshToken();
  const tenant = ctx.state.tenant(record.tenantId);
  const user: DirectoryUser | undefined = ctx.state.findUser(record.tenantId, record.userId);
  if (!tenant || !user || (pathTenant && pathTenant.id !== record.tenantId)) {
    const upn =
      user?.userPrincipalName ?? ctx.state.userById(record.userId)?.userPrincipalName ?? record.userId;
    return aad.userNotInTenant(upn, pathTenant?.id ?? record.tenantId, app.clientId, app.displayName);
  }
  if (!ctx.state.grant(tenant.id, app.clientId)) return aad.appNotFound(app.clientId, tenant.displayName);
  if (!user.accountEnabled) return aad.userDisabled();
  const now = ctx.state.now();
  if (record.forcedError === 70008) return aad.expiredGrant();
  if (record.forcedError === 700082 || now - record.lastUsedAt > refreshTokenInactivityMs) {
    return aad.inactiveRefreshToken(record.issuedAt);
  }
  if (record.authTime < user.tokensValidFrom) return aad.revokedGrant(record.authTime, user.tokensValidFrom);
  const consented = ctx.state.consentedScopes(tenant.id, app.clientId, user.id);
  if (record.scopes.graph.some((s) => !consented.includes(s)))
    return aad.consentRequired(app.clientId, app.displayName);
  const scopes = tokenScopes(form.get('scope'), record.scopes, consented, app);
  if ('error' in scopes) return scopes;
  // Refresh tokens slide: each use restarts the 90-day inactivity window, and the old one stays valid.
  record.lastUsedAt = now;
  const result = await userTokens(
    ctx,
    ex,
    form,
    { app, tenant, user, scopes, authTime: record.authTime, sessionId: record.sessionId, appidacr },
    familyOf(ctx, record),
  );
  ctx.state.persist();
  return result;
}

/** Rotation stays in the family: the new token is one generation newer than the family's newest. */
function familyOf(ctx: SimContext, record: RefreshTokenRecord): { familyId: string; generation: number } {
  const familyId = record.familyId ?? record.tokenHash;
  return { familyId, generation: ctx.state.newestGeneration(familyId) + 1 };
}

async function clientCredentials(
  ctx: SimContext,
  ex: Exchange,
  form: Map<string, string>,
  app: SeedApp,
  appidacr: '1' | '2',
  tenant: DirectoryTenant,
): Promise<Record<string, unknown> | AadError> {
  const scope = form.get('scope')?.trim();
  if (!scope) return aad.missingParameter('scope');
  const scopes = scope.split(/\s+/);
  const first = scopes[0] ?? '';
  if (scopes.length !== 1 || !first.toLowerCase().endsWith('/.default'))
    return aad.clientCredentialsScope(scope);
  const resource = findResource(first);
  if (!resource) return aad.resourceNotFound(first.replace(/\/\.default$/i, ''), tenant.id);
  const grant = ctx.state.grant(tenant.id, app.clientId);
  if (!grant) return aad.appNotFound(app.clientId, tenant.displayName);
  const byAppId = first.toLowerCase().startsWith(resource.appId);
  const accessToken = await appAccessToken(ctx, ex.base, {
    tenant,
    audience: byAppId ? resource.appId : resource.id,
    appId: app.clientId,
    appDisplayName: app.displayName,
    objectId: grant.servicePrincipalId,
    roles: resource.appId === GRAPH_APP_ID ? grant.applicationPermissions : [],
    appidacr,
    lifetimeSeconds: ctx.accessTokenLifetimeSeconds,
  });
  return {
    token_type: 'Bearer',
    expires_in: ctx.accessTokenLifetimeSeconds,
    ext_expires_in: ctx.accessTokenLifetimeSeconds,
    access_token: accessToken,
  };
}
