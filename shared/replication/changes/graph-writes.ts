import type { BatchRequestItem, ItemAnswer } from './rules';

/**
 * Graph writes over plain fetch: `$batch`, and single requests (Teams number assignment and its
 * operation). Nothing here retries or sleeps: every Retry-After goes back to the push, which gives the
 * change a new due time.
 */
export interface GraphWriter {
  batch(
    accessToken: string,
    items: BatchRequestItem[],
  ): Promise<{ envelope: ItemAnswer; items: Map<string, ItemAnswer> }>;
  send(accessToken: string, method: 'GET' | 'POST', url: string, body?: unknown): Promise<ItemAnswer>;
  /** Whether an absolute URL Microsoft gave (an operation's Location) is under the Graph root. */
  trusts(url: string): boolean;
}

/** A Location outside the configured Graph root: the bearer token is never sent there. */
export class UntrustedLocationError extends Error {
  constructor() {
    super('The operation Location is not under the configured Graph root; it was not followed.');
  }
}

export function createGraphWriter(options: { graphBaseUrl: string; fetch?: typeof fetch }): GraphWriter {
  const doFetch = options.fetch ?? fetch;
  const root = `${options.graphBaseUrl.replace(/\/+$/, '')}/v1.0`;
  const trusts = (url: string) => url.startsWith(`${root}/`);
  const call = async (
    accessToken: string,
    method: string,
    url: string,
    body?: unknown,
  ): Promise<ItemAnswer> => {
    // Relative paths go under the root; an absolute URL only if it is under it (a token never leaves).
    const absolute = /^[a-z][a-z0-9+.-]*:/i.test(url);
    if (absolute && !trusts(url)) throw new UntrustedLocationError();
    const res = await doFetch(absolute ? url : `${root}${url}`, {
      method,
      headers: {
        Authorization: `Bearer ${accessToken}`,
        Accept: 'application/json',
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? (JSON.parse(text) as unknown) : null;
    } catch {
      parsed = null;
    }
    const headers: Record<string, string> = {};
    for (const name of ['location', 'retry-after']) {
      const v = res.headers.get(name);
      if (v !== null) headers[name] = v;
    }
    return { status: res.status, headers, body: parsed };
  };
  return {
    async batch(accessToken, items) {
      const envelope = await call(accessToken, 'POST', '/$batch', { requests: items });
      const answers = new Map<string, ItemAnswer>();
      const responses = (envelope.body as { responses?: unknown } | null)?.responses;
      if (envelope.status === 200 && Array.isArray(responses)) {
        for (const r of responses as {
          id?: unknown;
          status?: unknown;
          headers?: unknown;
          body?: unknown;
        }[]) {
          if (typeof r?.id !== 'string' || typeof r.status !== 'number') continue;
          answers.set(r.id, {
            status: r.status,
            headers: (r.headers as Record<string, string> | undefined) ?? {},
            body: r.body,
          });
        }
      }
      return { envelope, items: answers };
    },
    send: (accessToken, method, url, body) => call(accessToken, method, url, body),
    trusts,
  };
}
