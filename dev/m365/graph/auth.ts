import { decodeJwt } from 'jose';
import type { Exchange, SimContext } from '../context';
import { headerValue } from '../http-util';
import { GRAPH_APP_ID, GRAPH_RESOURCE } from '../scopes';
import type { GraphPrincipal } from './types';

/**
 * Bearer token checks, in Graph's order and with its messages: a token must be present, parse, carry
 * this simulator's signature, be for Graph, and be within its lifetime. The tenant is the token's tid.
 */

export type GraphAuthResult = { principal: GraphPrincipal } | { status: 401; message: string };

const graphAudiences = [GRAPH_RESOURCE, `${GRAPH_RESOURCE}/`, GRAPH_APP_ID];

export async function authenticateGraph(ctx: SimContext, ex: Exchange): Promise<GraphAuthResult> {
  const header = headerValue(ex.req, 'authorization') ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  const token = match?.[1]?.trim();
  if (!token) return { status: 401, message: 'Access token is empty.' };
  try {
    decodeJwt(token);
  } catch {
    return { status: 401, message: 'CompactToken parsing failed with error code: 80049217' };
  }
  let claims: Record<string, unknown>;
  try {
    claims = (await ctx.keys.verifySignature(token)).payload;
  } catch {
    return { status: 401, message: 'Access token validation failure.' };
  }
  if (!graphAudiences.includes(String(claims.aud))) {
    return { status: 401, message: 'Access token validation failure. Invalid audience.' };
  }
  const now = Math.floor(ctx.state.now() / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= now) {
    return { status: 401, message: 'Lifetime validation failed, the token is expired.' };
  }
  if (typeof claims.nbf === 'number' && claims.nbf > now + 300) {
    return { status: 401, message: 'Lifetime validation failed, the token is not yet valid.' };
  }
  const tenant = ctx.state.tenant(String(claims.tid ?? ''));
  if (!tenant) return { status: 401, message: 'Access token validation failure.' };
  const scp = typeof claims.scp === 'string' ? claims.scp.split(' ').filter(Boolean) : [];
  const roles = Array.isArray(claims.roles) ? claims.roles.map(String) : [];
  const delegated = claims.idtyp === 'user' || scp.length > 0;
  const userId = delegated ? String(claims.oid ?? '') : undefined;
  return {
    principal: {
      tenant,
      user: userId ? ctx.state.findUser(tenant.id, userId) : undefined,
      userId,
      scopes: delegated ? scp : [],
      roles: delegated ? [] : roles,
      appId: String(claims.appid ?? claims.azp ?? ''),
      claims,
    },
  };
}

/** True when the caller holds one of the permissions (delegated or application, as the token is). */
export function hasPermission(
  p: GraphPrincipal,
  delegated: readonly string[],
  application: readonly string[],
): boolean {
  return p.userId !== undefined
    ? p.scopes.some((s) => delegated.includes(s))
    : p.roles.some((r) => application.includes(r));
}
