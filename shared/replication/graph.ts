import type { GraphBudget } from './budget';
import { requestCost, retryAfterMs, tenantBudget } from './rules';

/**
 * The few Graph reads replication makes, over plain fetch (keep-alive): the SDK's retry middleware
 * would sleep through a Retry-After inside the worker, where we would rather decide ourselves
 * (wait briefly, or give the tenant back to the queue with the delay).
 */

export class GraphThrottledError extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`Microsoft Graph throttled the request; retry after ${retryAfterMs} ms.`);
    this.name = 'GraphThrottledError';
  }
}

export class GraphResyncError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly location: string | undefined,
  ) {
    super(`Microsoft Graph asks for a full resync (HTTP ${status}${code ? ` ${code}` : ''}).`);
    this.name = 'GraphResyncError';
  }
}

export class GraphHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(`Microsoft Graph answered HTTP ${status}${code ? ` ${code}` : ''}.`);
    this.name = 'GraphHttpError';
  }
}

export interface GraphPage {
  value: Record<string, unknown>[];
  nextLink?: string;
  deltaLink?: string;
  /** The whole body (a single entity's read has no `value` array). */
  body?: Record<string, unknown>;
}

/** Whose budget a request spends: the tenant, and its size (which sets its limit). */
export interface GraphTenant {
  tenantId: string;
  /** Users the tenant has, as far as we know (unknown: the smallest tenant's limit). */
  users?: number;
}

export interface GraphReader {
  get(url: string, accessToken: string, tenant?: GraphTenant): Promise<GraphPage>;
  /**
   * Takes a request's resource units from the tenant's and the app's budgets (waiting briefly, or
   * throwing GraphThrottledError), for requests this reader does not make itself (subscriptions).
   */
  spend?(url: string, tenant: GraphTenant): Promise<void>;
  /** Requests made by this reader (the bench and sync state count them). */
  readonly requests: number;
}

/** Waits at most this long in-process for a Retry-After; longer waits go back to the queue. */
export const MAX_INLINE_WAIT_MS = 5_000;

/** Requests in flight at once per instance: the rest queue here rather than at Graph. */
export const MAX_CONCURRENT_REQUESTS = 32;

function limiter(max: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(run: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await run();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

export function createGraphReader(options: {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  onThrottled?: (ms: number) => void;
  /** Our side of Graph's resource-unit budgets; without it only Graph's own 429s slow us down. */
  budget?: GraphBudget;
  /** A tenant's resource units per 10 s by its users (Microsoft's figures unless a test says less). */
  tenantLimit?: (users: number) => number;
  maxConcurrent?: number;
}): GraphReader {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const slot = limiter(options.maxConcurrent ?? MAX_CONCURRENT_REQUESTS);
  let requests = 0;

  /** Waits for room in the budgets when the wait is short; a longer one hands the run back. */
  const spend = async (url: string, tenant: GraphTenant | undefined): Promise<number> => {
    const budget = options.budget;
    if (!budget || !tenant) return 0;
    const { pathname, searchParams } = new URL(url);
    // Our delta links carry the first request's $select inside their tokens.
    const selected = ['$select', '$skiptoken', '$deltatoken'].some((p) => searchParams.has(p));
    const units = requestCost(pathname, selected);
    const limit = (options.tenantLimit ?? tenantBudget)(tenant.users ?? 0);
    for (;;) {
      const wait = budget.reserve(tenant.tenantId, limit, units);
      if (wait === 0) return units;
      if (wait > MAX_INLINE_WAIT_MS) throw new GraphThrottledError(wait);
      await sleep(wait);
    }
  };

  const reader: GraphReader = {
    get requests() {
      return requests;
    },
    async spend(url, tenant) {
      await spend(url, tenant);
    },
    async get(url, accessToken, tenant) {
      for (let attempt = 0; ; attempt++) {
        const reserved = await spend(url, tenant);
        requests++;
        const res = await slot(() =>
          doFetch(url, { headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' } }),
        );
        const charged = Number(res.headers.get('x-ms-resource-unit'));
        if (tenant && reserved > 0 && Number.isFinite(charged))
          options.budget?.correct(tenant.tenantId, reserved, charged);
        if (res.status === 429 || res.status === 503) {
          const wait = retryAfterMs(res.headers.get('retry-after'), now(), 5_000);
          await res.body?.cancel();
          options.onThrottled?.(wait);
          // Never ignore a Retry-After: wait it out here when short, else hand the run back.
          if (wait > MAX_INLINE_WAIT_MS || attempt >= 3) throw new GraphThrottledError(wait);
          await sleep(wait);
          continue;
        }
        const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
        if (!res.ok) {
          const code = (body.error as { code?: string } | undefined)?.code;
          if (res.status === 410 || res.status === 400 || res.status === 404) {
            const location = res.headers.get('location') ?? undefined;
            if (res.status === 410 || /syncstate|resync/i.test(code ?? '')) {
              throw new GraphResyncError(res.status, code, location);
            }
          }
          throw new GraphHttpError(res.status, code);
        }
        return {
          value: Array.isArray(body.value) ? (body.value as Record<string, unknown>[]) : [],
          ...(typeof body['@odata.nextLink'] === 'string' ? { nextLink: body['@odata.nextLink'] } : {}),
          ...(typeof body['@odata.deltaLink'] === 'string' ? { deltaLink: body['@odata.deltaLink'] } : {}),
          body,
        };
      }
    },
  };
  return reader;
}
