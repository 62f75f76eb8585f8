import { retryAfterMs } from './rules';

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

export interface GraphReader {
  get(url: string, accessToken: string): Promise<GraphPage>;
  /** Requests made by this reader (the bench and sync state count them). */
  readonly requests: number;
}

/** Waits at most this long in-process for a Retry-After; longer waits go back to the queue. */
export const MAX_INLINE_WAIT_MS = 5_000;

export function createGraphReader(options: {
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  onThrottled?: (ms: number) => void;
}): GraphReader {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  let requests = 0;
  const reader: GraphReader = {
    get requests() {
      return requests;
    },
    async get(url, accessToken) {
      for (let attempt = 0; ; attempt++) {
        requests++;
        const res = await doFetch(url, {
          headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' },
        });
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
