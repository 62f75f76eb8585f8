import { Client, GraphError } from '@microsoft/microsoft-graph-client';
import { DependencyError } from '../errors';

/**
 * The Microsoft Graph client for one customer's token. Built on the SDK's middleware chain (auth,
 * retries on 429/503/504 with Retry-After, redirects). The Graph host is named in `customHosts`:
 * the SDK silently drops the Authorization header for any host it does not know, which is every
 * host but graph.microsoft.com (the local stack's simulator, a national cloud).
 */
export interface GraphClientOptions {
  /** GRAPH_BASE_URL, e.g. `https://graph.microsoft.com`. */
  baseUrl: string;
  accessToken: () => Promise<string>;
}

export function createGraphClient(options: GraphClientOptions): Client {
  const base = new URL(options.baseUrl);
  return Client.initWithMiddleware({
    authProvider: { getAccessToken: options.accessToken },
    // The SDK joins baseUrl, version and path itself.
    baseUrl: `${base.origin}${base.pathname.replace(/\/+$/, '')}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([base.hostname.toLowerCase()]),
  });
}

/** Graph said no (4xx): the status and Graph's error code, never the body. */
export class GraphRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly what: string,
  ) {
    super(`Microsoft Graph refused ${what}: HTTP ${status}${code ? ` ${code}` : ''}.`);
    this.name = 'GraphRequestError';
  }
}

/** Runs a Graph call; 4xx becomes a GraphRequestError, anything else the Graph dependency being down. */
export async function graphCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof GraphError && e.statusCode >= 400 && e.statusCode < 500 && e.statusCode !== 429) {
      throw new GraphRequestError(e.statusCode, e.code ?? undefined, what);
    }
    const detail = e instanceof GraphError && e.statusCode > 0 ? `HTTP ${e.statusCode}` : 'unreachable';
    throw new DependencyError('Microsoft Graph', `${what}: ${detail}`, { cause: e });
  }
}
