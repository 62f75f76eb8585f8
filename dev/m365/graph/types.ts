import type { Exchange, SimContext } from '../context';
import type { DirectoryTenant, DirectoryUser } from '../state';

/** Who is calling Graph, from a verified access token. */
export interface GraphPrincipal {
  tenant: DirectoryTenant;
  /** The signed-in user (delegated tokens); undefined for app-only tokens. */
  user?: DirectoryUser;
  /** oid of a delegated token, kept when the user no longer exists. */
  userId?: string;
  /** Delegated permissions (scp). */
  scopes: string[];
  /** Application permissions (roles). */
  roles: string[];
  appId: string;
  claims: Record<string, unknown>;
}

export interface GraphRequest {
  ctx: SimContext;
  ex: Exchange;
  principal: GraphPrincipal;
  /** Capture groups of the route pattern, URL-decoded. */
  params: string[];
  query: URLSearchParams;
  /** https://host:port/v1.0 — the base of @odata.context and, later, of nextLink/deltaLink. */
  base: string;
  /** The JSON body of a POST or PATCH (parsed once by the dispatcher; a $batch item's own body). */
  body?: unknown;
}

/**
 * One Graph route. Later additions (delta queries, $batch, throttling) register here: `pattern` is
 * matched against the path after /v1.0 (no query string).
 */
export interface GraphRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  pattern: RegExp;
  handler: (r: GraphRequest) => void | Promise<void>;
}
