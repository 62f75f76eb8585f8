import { setTimeout as sleep } from 'node:timers/promises';
import type { Exchange, SimContext } from '../context';
import { pairwiseSub } from '../token-issuer';
import { authenticateGraph } from './auth';
import { sendGraph, sendGraphError } from './errors';
import { knobsOf } from '../directory';
import { deltaRoutes } from './delta';
import { listRoutes } from './lists';
import { organizationRoutes } from './organization';
import { roleRoutes } from './roles';
import { teamsRoutes } from './teams';
import { subscriptionRoutes } from './subscriptions';
import type { GraphRequest, GraphRoute } from './types';
import { userRoutes } from './users';
import { batchRoute, type Dispatch } from './batch';
import { telephonyRoutes } from './telephony';
import { userWriteRoutes } from './user-writes';
import { readBody } from '../http-util';

/**
 * Microsoft Graph v1.0 on the simulator's host at /v1.0. Every request needs a valid Bearer token for
 * Graph; the tenant is the token's tid. Routes are data: a later issue adds delta queries, $batch and
 * throttling by adding routes (and a wrapper around dispatch) here.
 */

// Delta first: /users/delta would otherwise read as the user with id 'delta'.
export const graphRoutes: GraphRoute[] = [
  ...deltaRoutes,
  ...listRoutes,
  ...userRoutes,
  ...organizationRoutes,
  ...roleRoutes,
  ...teamsRoutes,
  ...subscriptionRoutes,
  ...userWriteRoutes,
  ...telephonyRoutes,
];

/** Finds the route for a method and path and runs it (a request of its own, or an item of a $batch). */
const dispatch: Dispatch = async (ctx, ex, principal, method, path, query, body) => {
  const now = ctx.state.now();
  const candidates = allRoutes
    .map((route) => ({ route, match: route.pattern.exec(path) }))
    .filter((c) => c.match !== null);
  if (candidates.length === 0) {
    const segment = path.split('/').filter(Boolean)[0] ?? '';
    return sendGraphError(ex, 400, 'BadRequest', `Resource not found for the segment '${segment}'.`, now);
  }
  const chosen = candidates.find((c) => c.route.method === method);
  if (!chosen || !chosen.match) {
    return sendGraphError(
      ex,
      405,
      'Request_BadRequest',
      `Specified HTTP method is not allowed for the request target.`,
      now,
    );
  }
  const request: GraphRequest = {
    ctx,
    ex,
    principal,
    params: chosen.match.slice(1).map((p) => (p === undefined ? p : decodeURIComponent(p))) as string[],
    query,
    base: `${ex.base}/v1.0`,
    body,
  };
  await chosen.route.handler(request);
};

const allRoutes: GraphRoute[] = [batchRoute(dispatch), ...graphRoutes];
/**
 * Resource units as Microsoft counts them for identity requests: users 2, group members 3, others 1;
 * `$select` (also baked into a delta or skip token) saves 1.
 */
function resourceUnits(path: string, query: URLSearchParams): number {
  const base = /^\/users(\/|$)/.test(path) ? 2 : /\/members$/.test(path) ? 3 : 1;
  const selected = ['$select', '$skiptoken', '$deltatoken'].some((p) => query.has(p));
  return Math.max(1, base - (selected ? 1 : 0));
}

export async function handleGraph(ctx: SimContext, ex: Exchange): Promise<void> {
  if (ctx.state.latency.graphMs > 0) await sleep(ctx.state.latency.graphMs);
  const now = ctx.state.now();
  const path = ex.url.pathname.replace(/^\/v1\.0/i, '') || '/';
  const auth = await authenticateGraph(ctx, ex);
  if ('status' in auth) {
    return sendGraphError(ex, auth.status, 'InvalidAuthenticationToken', auth.message, now, {
      'WWW-Authenticate': `Bearer realm="", authorization_uri="${ex.base}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
    });
  }
  const knobs = knobsOf(ctx.state);
  const tenantId = auth.principal.tenant.id;
  knobs.requests.set(tenantId, (knobs.requests.get(tenantId) ?? 0) + 1);
  const units = resourceUnits(path, ex.url.searchParams);
  const log = knobs.requestLog.get(tenantId) ?? [];
  log.push({ at: Date.now(), units, path });
  knobs.requestLog.set(tenantId, log);
  ex.res.setHeader('x-ms-resource-unit', String(units));
  const scope = `Tenant_Application/ReadWrite/${tenantId}/${auth.principal.appId}`;
  // On the simulator's clock, so a test that moves the clock past a Retry-After is let through.
  const until = knobs.throttledUntil.get(tenantId) ?? 0;
  if (now < until) {
    // Back before its Retry-After: Graph throttles again (and the bench counts the client's fault).
    knobs.ignoredRetryAfter += 1;
    return sendGraphError(ex, 429, 'TooManyRequests', 'Please retry again later.', now, {
      'Retry-After': String(Math.ceil((until - now) / 1000)),
      'x-ms-throttle-scope': scope,
    });
  }
  const fault = knobs.faults.find(
    (f) => !f.inBatch && f.remaining > 0 && (!f.tenantId || f.tenantId === tenantId),
  );
  if (fault) {
    fault.remaining -= 1;
    knobs.faults = knobs.faults.filter((f) => f.remaining > 0);
    const seconds = Number(fault.retryAfter);
    if (Number.isFinite(seconds)) knobs.throttledUntil.set(tenantId, now + seconds * 1000);
    // refdata/microsoft/graph-429.http: Retry-After in (possibly fractional) seconds.
    return sendGraphError(ex, 429, 'TooManyRequests', 'Please retry again later.', now, {
      'Retry-After': fault.retryAfter,
      'x-ms-throttle-scope': scope,
    });
  }
  let body: unknown;
  if (ex.req.method === 'POST' || ex.req.method === 'PATCH') {
    const text = await readBody(ex.req);
    if (text.trim()) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        return sendGraphError(ex, 400, 'BadRequest', 'Unable to read JSON request payload.', now);
      }
    }
  }
  await dispatch(ctx, ex, auth.principal, ex.req.method ?? 'GET', path, ex.url.searchParams, body);
}

/** GET /oidc/userinfo (the userinfo_endpoint of the OpenID metadata): needs a Graph token with openid. */
export async function handleUserInfo(ctx: SimContext, ex: Exchange): Promise<void> {
  const now = ctx.state.now();
  const auth = await authenticateGraph(ctx, ex);
  if ('status' in auth)
    return sendGraphError(ex, auth.status, 'InvalidAuthenticationToken', auth.message, now);
  const { user, scopes, claims } = auth.principal;
  if (!user || !scopes.includes('openid')) {
    return sendGraphError(
      ex,
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
      now,
    );
  }
  sendGraph(ex, 200, {
    // The same pairwise subject as the id token the client got.
    sub: pairwiseSub(String(claims.appid ?? ''), user.id),
    name: user.displayName,
    family_name: user.surname ?? undefined,
    given_name: user.givenName ?? undefined,
    picture: `${ex.base}/v1.0/me/photo/$value`,
    email: scopes.includes('email') ? (user.mail ?? undefined) : undefined,
  });
}
