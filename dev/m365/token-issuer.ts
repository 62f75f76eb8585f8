import { createHash, randomUUID } from 'node:crypto';
import type { SimContext } from './context';
import type { SeedApp } from './seed';
import { GRAPH_APP_ID, GRAPH_RESOURCE, TOKEN_EXCHANGE_AUDIENCE } from './scopes';
import {
  randomToken,
  sha256,
  type DirectoryTenant,
  type DirectoryUser,
  type GrantedScopes,
  type RefreshTokenRecord,
} from './state';

/**
 * Builds the tokens. Graph and other Azure resources accept v1.0 access tokens (iss
 * https://sts.windows.net/{tid}/, appid, scp or roles); id tokens are v2.0 (iss
 * https://<host>/{tid}/v2.0, claims as in test/fixtures/microsoft/id-token-v2-claims.json). All are RS256
 * with the simulator's key, so clients can verify them against jwks_uri, though like Microsoft's
 * access tokens they are meant for the resource, not the client.
 */

export function v2Issuer(base: string, tenantId: string): string {
  return `${base}/${tenantId}/v2.0`;
}

export function v1Issuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

/** Pairwise subject: the same user has a different sub in each app, like Microsoft's. */
export function pairwiseSub(clientId: string, oid: string): string {
  return createHash('sha256').update(`${clientId}|${oid}`).digest('base64url').slice(0, 43);
}

function regionScope(tenant: DirectoryTenant): string {
  return ['US', 'CA', 'MX'].includes(tenant.countryLetterCode) ? 'NA' : 'EU';
}

function times(ctx: SimContext, lifetimeSeconds: number): { iat: number; nbf: number; exp: number } {
  const iat = Math.floor(ctx.state.now() / 1000);
  // Microsoft back-dates nbf/iat by five minutes to allow for clock skew.
  return { iat: iat - 300, nbf: iat - 300, exp: iat + lifetimeSeconds };
}

export function graphAudience(byUri: boolean): string {
  return byUri ? GRAPH_RESOURCE : GRAPH_APP_ID;
}

export interface UserTokenInput {
  app: SeedApp;
  tenant: DirectoryTenant;
  user: DirectoryUser;
  scopes: GrantedScopes;
  authTime: number;
  sessionId: string;
  nonce?: string;
  /** appidacr: 1 = client secret, 2 = certificate or assertion. */
  appidacr: '1' | '2';
}

export async function userAccessToken(ctx: SimContext, input: UserTokenInput): Promise<string> {
  const { app, tenant, user, scopes } = input;
  const scp = [...scopes.oidc.filter((s) => s !== 'offline_access'), ...scopes.graph].join(' ');
  const claims: Record<string, unknown> = {
    aud: graphAudience(scopes.graphByUri),
    iss: v1Issuer(tenant.id),
    ...times(ctx, ctx.accessTokenLifetimeSeconds),
    acct: user.userType === 'Guest' ? 1 : 0,
    acr: '1',
    aio: randomToken(24),
    amr: ['pwd'],
    app_displayname: app.displayName,
    appid: app.clientId,
    appidacr: input.appidacr,
    family_name: user.surname ?? undefined,
    given_name: user.givenName ?? undefined,
    idtyp: 'user',
    ipaddr: '127.0.0.1',
    name: user.displayName,
    oid: user.id,
    rh: randomToken(16),
    scp,
    sid: input.sessionId,
    sub: pairwiseSub(GRAPH_APP_ID, user.id),
    tenant_region_scope: regionScope(tenant),
    tid: tenant.id,
    unique_name: user.userType === 'Guest' ? (user.mail ?? user.userPrincipalName) : user.userPrincipalName,
    uti: randomToken(16),
    ver: '1.0',
  };
  if (user.userType === 'Member') claims.upn = user.userPrincipalName;
  if (user.homeTenantId) claims.idp = v1Issuer(user.homeTenantId);
  return ctx.keys.sign(stripUndefined(claims), true);
}

export async function idToken(ctx: SimContext, base: string, input: UserTokenInput): Promise<string> {
  const { app, tenant, user, scopes } = input;
  const claims: Record<string, unknown> = {
    ver: '2.0',
    iss: v2Issuer(base, tenant.id),
    sub: pairwiseSub(app.clientId, user.id),
    aud: app.clientId,
    ...times(ctx, 3600),
    name: scopes.oidc.includes('profile') ? user.displayName : undefined,
    preferred_username: scopes.oidc.includes('profile')
      ? user.userType === 'Guest'
        ? (user.mail ?? user.userPrincipalName)
        : user.userPrincipalName
      : undefined,
    email: scopes.oidc.includes('email') ? (user.mail ?? undefined) : undefined,
    oid: user.id,
    tid: tenant.id,
    nonce: input.nonce,
    idp: user.homeTenantId ? v1Issuer(user.homeTenantId) : undefined,
    sid: input.sessionId,
    rh: randomToken(16),
    uti: randomToken(16),
    aio: randomToken(24),
  };
  return ctx.keys.sign(stripUndefined(claims), false);
}

/** MSAL asks for client_info=1 and builds its account id from {uid, utid}. */
export function clientInfo(user: DirectoryUser): string {
  return Buffer.from(JSON.stringify({ uid: user.id, utid: user.tenantId })).toString('base64url');
}

export interface AppTokenInput {
  tenant: DirectoryTenant;
  /** The resource identifier as requested (becomes aud). */
  audience: string;
  appId: string;
  appDisplayName: string;
  /** The service principal (or managed identity) object id in the tenant. */
  objectId: string;
  roles: string[];
  appidacr: '1' | '2';
  lifetimeSeconds: number;
  miResourceId?: string;
}

/** An app-only v1.0 access token (client credentials, managed identity). */
export async function appAccessToken(ctx: SimContext, base: string, input: AppTokenInput): Promise<string> {
  if (input.audience === TOKEN_EXCHANGE_AUDIENCE) return exchangeToken(ctx, base, input);
  const claims: Record<string, unknown> = {
    aud: input.audience,
    iss: v1Issuer(input.tenant.id),
    ...times(ctx, input.lifetimeSeconds),
    aio: randomToken(24),
    app_displayname: input.appDisplayName,
    appid: input.appId,
    appidacr: input.appidacr,
    idp: v1Issuer(input.tenant.id),
    idtyp: 'app',
    oid: input.objectId,
    rh: randomToken(16),
    roles: input.roles.length ? input.roles : undefined,
    sub: input.objectId,
    tenant_region_scope: regionScope(input.tenant),
    tid: input.tenant.id,
    uti: randomToken(16),
    ver: '1.0',
    xms_mirid: input.miResourceId,
  };
  return ctx.keys.sign(stripUndefined(claims), true);
}

/**
 * A v2.0 token for api://AzureADTokenExchange: what a managed identity presents as client_assertion to an
 * app that trusts it through a federated identity credential (issuer https://<host>/{tid}/v2.0, subject =
 * the identity's object id).
 */
async function exchangeToken(ctx: SimContext, base: string, input: AppTokenInput): Promise<string> {
  const claims: Record<string, unknown> = {
    aud: TOKEN_EXCHANGE_AUDIENCE,
    iss: v2Issuer(base, input.tenant.id),
    ...times(ctx, input.lifetimeSeconds),
    azp: input.appId,
    azpacr: input.appidacr,
    idtyp: 'app',
    oid: input.objectId,
    rh: randomToken(16),
    sub: input.objectId,
    tid: input.tenant.id,
    uti: randomToken(16),
    ver: '2.0',
    xms_mirid: input.miResourceId,
  };
  return ctx.keys.sign(stripUndefined(claims), true);
}

/** Stores a new refresh token and returns its value (only its hash is kept). */
export function newRefreshToken(
  ctx: SimContext,
  fields: Omit<RefreshTokenRecord, 'tokenHash' | 'issuedAt' | 'lastUsedAt'>,
): string {
  // Opaque like Microsoft's; clients must not parse refresh tokens.
  const value = `1.${randomToken(96)}`;
  const now = ctx.state.now();
  ctx.state.refreshTokens.set(sha256(value), {
    ...fields,
    tokenHash: sha256(value),
    issuedAt: now,
    lastUsedAt: now,
  });
  return value;
}

export function newSessionId(): string {
  return randomUUID();
}

function stripUndefined(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
}
