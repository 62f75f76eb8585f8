import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { authorize, consent, pickAccount } from './authorize';
import { createPortalControls, type PortalControls } from './directory';
import { aliases, type Exchange, type SimContext } from './context';
import { instanceDiscovery, openIdConfiguration, signingKeys } from './discovery';
import { handleGraph, handleUserInfo } from './graph';
import { createNotificationControls, notifyChange, type NotificationControls } from './graph/subscriptions';
import { headerValue, redirect, sendHtml, sendJson } from './http-util';
import { indexPage } from './index-page';
import { SigningKeys } from './keys';
import { managedIdentityToken } from './msi';
import { errorPage, page } from './pages';
import { findResource, GRAPH_RESOURCE, parseScopes } from './scopes';
import { createDefaultSeed, defaultClientSecret, type Seed } from './seed';
import type { SimulatedGrantFailure } from './aad-errors';
import {
  randomToken,
  sha256,
  SimState,
  union,
  type DirectoryTenant,
  type DirectoryUser,
  type RefreshTokenUse,
} from './state';
import { appAccessToken, newRefreshToken, userAccessToken } from './token-issuer';
import { tokenEndpoint } from './token-endpoint';

/**
 * A simulated Microsoft 365 for local runs and tests: the identity platform v2.0 (OpenID metadata,
 * keys, authorize with sign-in and consent pages, token endpoint), the App Service managed identity
 * endpoint and a slice of Microsoft Graph v1.0, all on one HTTPS host. See README.md.
 */

export interface M365SimulatorOptions {
  /** 0 or absent: any free port. */
  port?: number;
  tls: { cert: string; key: string };
  seed?: Seed;
  /** Keeps the directory, consents, refresh tokens and signing key across restarts. */
  dataFile?: string;
  /** Added to the first app registration's redirect URIs. */
  redirectUris?: string[];
  /** Also accept any http(s)://127.0.0.1:* or http(s)://localhost:* redirect URI, as Microsoft does for loopback. */
  allowLoopbackRedirects?: boolean;
  /** The X-IDENTITY-HEADER value the managed identity endpoint requires (default: random). */
  identityHeader?: string;
  /** expires_in of access tokens (default 3599, as in Microsoft's samples). */
  accessTokenLifetimeSeconds?: number;
  log?: (line: string) => void;
}

export interface IssueAccessTokenInput {
  tenantId: string;
  /** A delegated token for this user; without it an app-only token. */
  userId?: string;
  /** Delegated Graph permissions (scp), e.g. ['User.Read.All']. */
  scopes?: string[];
  /** Application permissions (roles) of an app-only token. */
  roles?: string[];
  /** Default https://graph.microsoft.com. */
  audience?: string;
  clientId?: string;
  lifetimeSeconds?: number;
}

export interface M365Simulator {
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  /** `${url}/${tenant}` (default organizations): MSAL's authority. */
  authority(tenant?: string): string;
  /** For MSAL's knownAuthorities: ['127.0.0.1:PORT', 'localhost:PORT']. */
  knownAuthorities: string[];
  /**
   * `${url}/`: the Graph client's baseUrl (it appends the version itself: '<url>/v1.0/' as baseUrl
   * would request /v1.0/v1.0/me). Name the host in customHosts or the client sends no token.
   */
  graphBaseUrl: string;
  /** `${url}/msi/token`: IDENTITY_ENDPOINT. */
  identityEndpoint: string;
  /** IDENTITY_HEADER. */
  identityHeader: string;
  /** The first app registration. */
  app: { clientId: string; clientSecret: string; redirectUris: readonly string[] };
  managedIdentity: { clientId: string; principalId: string; tenantId: string };
  /** The live directory (read it; change it through the controls below). */
  readonly tenants: readonly DirectoryTenant[];
  findUser(idOrUpn: string): DirectoryUser | undefined;
  stop(): Promise<void>;
  /** Signs an access token without a sign-in (for tests of resource servers and Graph callers). */
  issueAccessToken(input: IssueAccessTokenInput): Promise<string>;
  /** Verifies signature, lifetime (simulator clock) and optionally the audience; returns the claims. */
  verifyAccessToken(
    token: string,
    options?: { audience?: string | string[] },
  ): Promise<Record<string, unknown>>;
  /** "Revoke sessions": refresh tokens from earlier sign-ins fail with AADSTS50173. */
  revokeRefreshTokens(tenantId: string, userId: string): void;
  /** The next use of this refresh token fails with AADSTS700082 (inactivity, default) or AADSTS70008. */
  expireRefreshToken(refreshToken: string, code?: 700082 | 70008): void;
  /** A disabled user can still sign in here (the app must refuse); refreshing fails with AADSTS50057. */
  setUserEnabled(tenantId: string, userId: string, enabled: boolean): void;
  /** Withdraws consent (refresh → AADSTS65001), or deletes the service principal (→ AADSTS700016). */
  removeConsent(tenantId: string, options?: { clientId?: string; deleteServicePrincipal?: boolean }): void;
  /**
   * The tenant's grant, and the refresh tokens issued under it, without these delegated permissions:
   * a grant made before the app asked for them. `.default` refreshes no longer carry them.
   */
  revokeDelegatedPermissions(tenantId: string, names: string[], options?: { clientId?: string }): void;
  /** Tenant-wide consent without the browser: delegated Graph permissions and application permissions. */
  /**
   * The refresh token an admin's consent would have produced for the app (first user of the tenant
   * unless named), its grant recorded: seeds many consented customers without walking the sign-in.
   */
  issueRefreshToken(tenantId: string, options?: { userId?: string }): string;
  grantAdminConsent(
    tenantId: string,
    options?: { clientId?: string; scopes?: string[]; applicationPermissions?: string[] },
  ): void;
  /** Moves the simulator's clock (code and token expiry, refresh token inactivity). */
  advanceClock(seconds: number): void;
  /**
   * Refresh-token requests (for one tenant, or all) fail: with the documented body of an AADSTS code
   * (`65001`, `700082`, … or `interaction_required`: a grant expired, revoked or blocked), with 503
   * `temporarily_unavailable`, or throttled with 429 and `Retry-After`. `times` requests (default:
   * until `clearTokenFailures`); the first matching rule answers.
   */
  failTokenRequests(options: {
    failure: SimulatedGrantFailure | 'temporarily_unavailable' | 'throttled';
    tenantId?: string;
    times?: number;
    /** Retry-After header: seconds (fractions allowed) or an HTTP date. */
    retryAfter?: string;
  }): void;
  clearTokenFailures(): void;
  /** Every presentation of a refresh token: its family, its generation and the family's newest then. */
  refreshTokenUses(filter?: { tenantId?: string }): RefreshTokenUse[];
  /** Which family and generation a refresh token is (undefined for one the simulator never issued). */
  refreshTokenGeneration(refreshToken: string): { familyId: string; generation: number } | undefined;
  /** Delays every token endpoint and Graph answer (milliseconds), as a real network would. */
  setLatency(latency: { tokenMs?: number; graphMs?: number }): void;
  /**
   * The Microsoft portal: change users, licences, roles, groups and memberships (delta and change
   * notifications see it), add tenants of any size, reset delta tokens, throttle Graph.
   */
  portal: PortalControls;
  /**
   * Change notifications (graph/subscriptions.ts): live subscriptions, lifecycle events on demand,
   * every validation / delivery / lifecycle POST made and its answer, delivery batching and retry.
   */
  notifications: NotificationControls;
}

async function route(ctx: SimContext, ex: Exchange): Promise<void> {
  const { req, res, url } = ex;
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [first = '', second, third, fourth] = segments;

  if (/^\/v1\.0(\/|$)/i.test(path)) return handleGraph(ctx, ex);
  if (method === 'GET' && path === '/') return sendHtml(res, 200, indexPage(ctx, ex.base));
  if (method === 'GET' && path === '/oidc/userinfo') return handleUserInfo(ctx, ex);
  if (method === 'GET' && /^\/msi\/token\/?$/i.test(path)) return managedIdentityToken(ctx, ex);
  if (method === 'GET' && path === '/error') {
    const code = url.searchParams.get('code') ?? '';
    return sendHtml(
      res,
      200,
      page(
        `AADSTS${code}`,
        `<h1>Error AADSTS${code.replace(/\D/g, '')}</h1><p>See the error_description of the response for details.</p>`,
      ),
    );
  }
  const rest = segments.slice(1).join('/');
  if (method === 'GET' && rest === 'v2.0/.well-known/openid-configuration')
    return openIdConfiguration(ctx, ex, first);
  if (method === 'GET' && rest === 'discovery/v2.0/keys') return signingKeys(ctx, ex, first);
  if (method === 'GET' && second === 'discovery' && third === 'instance' && !fourth)
    return instanceDiscovery(ctx, ex);
  if (method === 'GET' && rest === 'oauth2/v2.0/authorize') return authorize(ctx, ex, first);
  if (method === 'POST' && rest === 'login') return pickAccount(ctx, ex);
  if (method === 'POST' && rest === 'consent') return consent(ctx, ex);
  if (method === 'POST' && rest === 'oauth2/v2.0/token') return tokenEndpoint(ctx, ex, first);
  if (method === 'GET' && rest === 'oauth2/v2.0/logout') return logout(ctx, ex);
  sendJson(res, 404, { error: 'not_found', error_description: `No simulated endpoint at ${method} ${path}` });
}

/** Sign-out: no browser session exists here, so it only honours post_logout_redirect_uri when registered. */
function logout(ctx: SimContext, ex: Exchange): void {
  const target = ex.url.searchParams.get('post_logout_redirect_uri');
  const allowed =
    target &&
    ctx.state.apps.some((a) => a.redirectUris.some((u) => new URL(u).origin === safeOrigin(target)));
  if (target && allowed) return redirect(ex.res, target);
  sendHtml(
    ex.res,
    200,
    page(
      'Signed out',
      '<h1>You signed out of your account</h1><p>It’s a good idea to close all browser windows.</p>',
    ),
  );
}

function safeOrigin(uri: string): string | undefined {
  try {
    return new URL(uri).origin;
  } catch {
    return undefined;
  }
}

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function startM365Simulator(options: M365SimulatorOptions): Promise<M365Simulator> {
  const log = options.log ?? (() => {});
  const seed = options.seed ?? createDefaultSeed();
  if (options.redirectUris?.length && seed.apps[0]) {
    seed.apps[0] = { ...seed.apps[0], redirectUris: union(seed.apps[0].redirectUris, options.redirectUris) };
  }
  const state = new SimState(seed, options.dataFile, log);
  const keys = await SigningKeys.create(state.signingKey);
  state.signingKey = keys.material;
  const ctx: SimContext = {
    state,
    keys,
    port: 0,
    identityHeader: options.identityHeader ?? randomToken(24),
    accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? 3599,
    allowLoopbackRedirects: options.allowLoopbackRedirects ?? false,
    log,
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const addressed = (req.headers.host ?? '').toLowerCase();
    const host = aliases(ctx.port).includes(addressed) ? addressed : `127.0.0.1:${ctx.port}`;
    const requestId = headerValue(req, 'client-request-id');
    const ex: Exchange = {
      req,
      res,
      url: new URL(req.url ?? '/', `https://${host}`),
      host,
      base: `https://${host}`,
      correlationId: requestId && guid.test(requestId) ? requestId.toLowerCase() : randomUUID(),
    };
    route(ctx, ex).catch((e: unknown) => {
      log(
        `m365: ${req.method} ${req.url} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      );
      if (res.headersSent) return res.destroy();
      if ((req.headers.accept ?? '').includes('text/html')) {
        return sendHtml(res, 500, errorPage({ title: 'Something went wrong', description: String(e) }));
      }
      sendJson(res, 500, {
        error: 'server_error',
        error_description: 'The simulator failed to handle the request.',
      });
    });
  };

  const server: Server = createServer({ cert: options.tls.cert, key: options.tls.key }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  ctx.port = (server.address() as AddressInfo).port;
  state.persist();
  const url = `https://127.0.0.1:${ctx.port}`;
  const firstApp = state.apps[0];
  if (!firstApp) throw new Error('the seed needs at least one app registration');

  const requireUser = (tenantId: string, userId: string): DirectoryUser => {
    const user = state.findUser(tenantId, userId);
    if (!user) throw new Error(`no user ${userId} in tenant ${tenantId}`);
    return user;
  };
  const requireTenant = (tenantId: string): DirectoryTenant => {
    const tenant = state.findTenant(tenantId);
    if (!tenant) throw new Error(`no tenant ${tenantId}`);
    return tenant;
  };

  const notifications = createNotificationControls(state);

  return {
    url,
    port: ctx.port,
    authority: (tenant = 'organizations') => `${url}/${tenant}`,
    knownAuthorities: aliases(ctx.port),
    graphBaseUrl: `${url}/`,
    identityEndpoint: `${url}/msi/token`,
    identityHeader: ctx.identityHeader,
    app: {
      clientId: firstApp.clientId,
      clientSecret: firstApp.clientSecrets[0]?.value ?? defaultClientSecret,
      redirectUris: firstApp.redirectUris,
    },
    managedIdentity: {
      clientId: state.managedIdentity.clientId,
      principalId: state.managedIdentity.principalId,
      tenantId: state.managedIdentity.tenantId,
    },
    get tenants() {
      return state.tenants;
    },
    findUser: (idOrUpn) => {
      for (const t of state.tenants) {
        const user = state.findUser(t.id, idOrUpn);
        if (user) return user;
      }
      return undefined;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        notifications.stop();
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
    issueAccessToken: async (input) => {
      const tenant = requireTenant(input.tenantId);
      const app = state.findApp(input.clientId ?? firstApp.clientId) ?? firstApp;
      const lifetime = input.lifetimeSeconds ?? ctx.accessTokenLifetimeSeconds;
      const tokenCtx = { ...ctx, accessTokenLifetimeSeconds: lifetime };
      if (input.userId) {
        const graph = parseScopes((input.scopes ?? []).join(' ')).graph;
        return userAccessToken(tokenCtx, {
          app,
          tenant,
          user: requireUser(tenant.id, input.userId),
          scopes: { graph, oidc: [], graphByUri: true },
          authTime: state.now(),
          sessionId: randomUUID(),
          appidacr: '1',
        });
      }
      const resource = findResource(input.audience ?? GRAPH_RESOURCE);
      return appAccessToken(ctx, url, {
        tenant,
        audience: input.audience ?? GRAPH_RESOURCE,
        appId: app.clientId,
        appDisplayName: app.displayName,
        objectId: state.ensureGrant(tenant.id, app.clientId).servicePrincipalId,
        roles: input.roles ?? [],
        appidacr: '1',
        lifetimeSeconds: resource ? lifetime : lifetime,
      });
    },
    verifyAccessToken: async (token, verifyOptions = {}) => {
      const { payload } = await keys.verifySignature(token);
      const now = Math.floor(state.now() / 1000);
      if (typeof payload.exp !== 'number' || payload.exp <= now) throw new Error('token expired');
      if (typeof payload.nbf === 'number' && payload.nbf > now + 300) throw new Error('token not yet valid');
      const wanted = verifyOptions.audience === undefined ? undefined : [verifyOptions.audience].flat();
      if (wanted && !wanted.includes(String(payload.aud)))
        throw new Error(`unexpected audience ${String(payload.aud)}`);
      return payload;
    },
    revokeRefreshTokens: (tenantId, userId) => {
      requireUser(requireTenant(tenantId).id, userId).tokensValidFrom = state.now();
      state.persist();
    },
    expireRefreshToken: (refreshToken, code = 700082) => {
      const record = state.refreshTokens.get(sha256(refreshToken));
      if (!record) throw new Error('unknown refresh token');
      record.forcedError = code;
      state.persist();
    },
    setUserEnabled: (tenantId, userId, enabled) => {
      requireUser(requireTenant(tenantId).id, userId).accountEnabled = enabled;
      state.persist();
    },
    removeConsent: (tenantId, removeOptions = {}) => {
      const tenant = requireTenant(tenantId);
      const clientId = removeOptions.clientId ?? firstApp.clientId;
      const forTenant = state.grants[tenant.id];
      if (removeOptions.deleteServicePrincipal) {
        if (forTenant) delete forTenant[clientId];
      } else {
        const grant = state.grant(tenant.id, clientId);
        if (grant) {
          grant.adminScopes = [];
          grant.userScopes = {};
          grant.applicationPermissions = [];
        }
      }
      state.persist();
    },
    revokeDelegatedPermissions: (tenantId, names, revokeOptions = {}) => {
      const tenant = requireTenant(tenantId);
      const clientId = revokeOptions.clientId ?? firstApp.clientId;
      const grant = state.grant(tenant.id, clientId);
      if (grant) {
        const gone = new Set(names.map((n) => n.toLowerCase()));
        grant.adminScopes = grant.adminScopes.filter((s) => !gone.has(s.toLowerCase()));
        for (const [user, scopes] of Object.entries(grant.userScopes))
          grant.userScopes[user] = scopes.filter((s) => !gone.has(s.toLowerCase()));
        // Refresh tokens issued under the grant carry only what it held (as if issued before them).
        for (const record of state.refreshTokens.values()) {
          if (record.tenantId !== tenant.id || record.clientId !== clientId) continue;
          record.scopes.graph = record.scopes.graph.filter((s) => !gone.has(s.toLowerCase()));
        }
      }
      state.persist();
    },
    issueRefreshToken: (tenantId, issueOptions = {}) => {
      const tenant = requireTenant(tenantId);
      const user = issueOptions.userId
        ? tenant.users.find((u) => u.id === issueOptions.userId)
        : tenant.users[0];
      if (!user) throw new Error(`no user in tenant ${tenantId}`);
      const app = firstApp;
      const graphScopes = parseScopes(app.requestedScopes.join(' ')).graph;
      const grant = state.ensureGrant(tenant.id, app.clientId);
      grant.adminScopes = union(grant.adminScopes, [...graphScopes, 'openid', 'profile', 'offline_access']);
      const token = newRefreshToken(ctx, {
        clientId: app.clientId,
        tenantId: tenant.id,
        userId: user.id,
        scopes: { graph: graphScopes, oidc: ['openid', 'profile', 'offline_access'], graphByUri: true },
        authTime: state.now(),
        sessionId: randomUUID(),
        familyId: randomUUID(),
        generation: 1,
      });
      state.persist();
      return token;
    },
    grantAdminConsent: (tenantId, grantOptions = {}) => {
      const tenant = requireTenant(tenantId);
      const app = state.findApp(grantOptions.clientId ?? firstApp.clientId);
      if (!app) throw new Error(`no app ${grantOptions.clientId ?? ''}`);
      const grant = state.ensureGrant(tenant.id, app.clientId);
      const scopes = grantOptions.scopes ?? [
        ...parseScopes(app.requestedScopes.join(' ')).graph,
        'openid',
        'profile',
        'offline_access',
      ];
      grant.adminScopes = union(grant.adminScopes, scopes);
      grant.applicationPermissions = union(
        grant.applicationPermissions,
        grantOptions.applicationPermissions ?? app.applicationPermissions,
      );
      state.persist();
    },
    advanceClock: (seconds) => {
      state.clockOffsetMs += seconds * 1000;
      state.persist();
    },
    failTokenRequests: ({ failure, tenantId, times, retryAfter }) => {
      state.tokenFaults.push({
        failure,
        remaining: times ?? Infinity,
        ...(tenantId ? { tenantId: requireTenant(tenantId).id } : {}),
        ...(retryAfter ? { retryAfter } : {}),
      });
    },
    clearTokenFailures: () => {
      state.tokenFaults = [];
    },
    refreshTokenUses: (filter = {}) =>
      state.refreshTokenUses
        .filter((u) => !filter.tenantId || u.tenantId === requireTenant(filter.tenantId).id)
        .map((u) => ({ ...u })),
    refreshTokenGeneration: (refreshToken) => {
      const record = state.refreshTokens.get(sha256(refreshToken));
      return record
        ? { familyId: record.familyId ?? record.tokenHash, generation: record.generation ?? 1 }
        : undefined;
    },
    portal: createPortalControls(state, (tenantId, kind, id, changeType) =>
      notifyChange(state, tenantId, kind, id, changeType),
    ),
    notifications,
    setLatency: ({ tokenMs, graphMs }) => {
      if (tokenMs !== undefined) state.latency.tokenMs = tokenMs;
      if (graphMs !== undefined) state.latency.graphMs = graphMs;
    },
  };
}

if (require.main === module) {
  // Standalone: `npx tsx dev/m365/server.ts` (the launcher sets NODE_EXTRA_CA_CERTS for its clients).
  void (async () => {
    const { ensureDevCertificates } = await import('../tls/certs');
    const certs = await ensureDevCertificates();
    const sim = await startM365Simulator({
      port: Number(process.env.M365_PORT ?? 44321),
      tls: certs,
      dataFile: process.env.M365_DATA_FILE ?? `${__dirname}/../../.local/m365-simulator.json`,
      redirectUris: (process.env.M365_REDIRECT_URIS ?? '').split(',').filter(Boolean),
      allowLoopbackRedirects: true,
      identityHeader: process.env.IDENTITY_HEADER,
      log: (line) => console.log(line),
    });
    console.log(sim.url);
    console.log(
      `authority ${sim.authority()}  client id ${sim.app.clientId}  secret ${sim.app.clientSecret}`,
    );
    console.log(`IDENTITY_ENDPOINT=${sim.identityEndpoint} IDENTITY_HEADER=${sim.identityHeader}`);
    const shutdown = () => void sim.stop().then(() => process.exit(0));
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  })().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
