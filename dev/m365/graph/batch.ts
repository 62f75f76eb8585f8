import type { ServerResponse } from 'node:http';
import type { Exchange, SimContext } from '../context';
import { knobsOf } from '../directory';
import { sendGraph, sendGraphError } from './errors';
import type { GraphPrincipal, GraphRequest, GraphRoute } from './types';

/**
 * `POST /v1.0/$batch` (JSON batching): at most 20 requests, each with an `id`, `method`, relative
 * `url`, optional `headers`, `body` and `dependsOn`. Each goes through the same Graph routes as a
 * request of its own; the envelope answers 200 with one response per id (`id`, `status`, `headers`,
 * `body`), not in request order. A batch is fully parallel (no `dependsOn`) or fully sequential (each
 * request depends on the one before it); any other shape is a 400 for the whole batch. A request whose
 * dependency failed answers 424. A throttling fault set
 * for batch items makes an item answer 429 with its own `Retry-After`.
 */

export const MAX_BATCH_REQUESTS = 20;

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  dependsOn?: string[];
}

interface ItemAnswer {
  id: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export type Dispatch = (
  ctx: SimContext,
  ex: Exchange,
  principal: GraphPrincipal,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
) => Promise<void>;

/** An exchange whose response is captured instead of sent (what an item of a batch answers). */
function captured(parent: Exchange): { ex: Exchange; answer: () => Omit<ItemAnswer, 'id'> } {
  let status = 200;
  let headers: Record<string, string> = {};
  let text = '';
  const res = {
    writeHead(s: number, h: Record<string, string> = {}) {
      status = s;
      headers = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));
      return res;
    },
    end(chunk?: string) {
      if (chunk) text += chunk;
      return res;
    },
  } as unknown as ServerResponse;
  return {
    ex: { ...parent, res },
    answer: () => {
      let body: unknown = null;
      if (text) {
        try {
          body = JSON.parse(text) as unknown;
        } catch {
          body = text;
        }
      }
      // Item headers carry what matters to a caller (Location, Retry-After, Content-Type).
      const keep = Object.fromEntries(
        Object.entries(headers).filter(([k]) => /^(location|retry-after|content-type)$/i.test(k)),
      );
      return { status, headers: keep, body };
    },
  };
}

function parseItems(body: unknown): BatchItem[] | string {
  const requests = (body as { requests?: unknown } | null)?.requests;
  if (!Array.isArray(requests)) return 'Invalid batch payload format.';
  const items: BatchItem[] = [];
  for (const raw of requests as Record<string, unknown>[]) {
    if (typeof raw?.id !== 'string' || !raw.id) return 'Request id is required.';
    if (typeof raw.method !== 'string' || typeof raw.url !== 'string')
      return 'Invalid request: method and url are required.';
    if (items.some((i) => i.id === raw.id)) return `Request with Id '${raw.id}' was already added.`;
    items.push({
      id: raw.id,
      method: raw.method.toUpperCase(),
      url: raw.url,
      ...(raw.headers && typeof raw.headers === 'object'
        ? { headers: raw.headers as Record<string, string> }
        : {}),
      ...('body' in raw ? { body: raw.body } : {}),
      ...(Array.isArray(raw.dependsOn) ? { dependsOn: raw.dependsOn.map(String) } : {}),
    });
  }
  return items;
}

/**
 * Graph takes a batch whose requests are all independent, or a chain (each after the one before it);
 * any other shape is refused whole (the Graph SDKs' BatchRequestContent checks the same).
 */
function parallelOrSequential(items: BatchItem[]): boolean {
  if (items.every((i) => (i.dependsOn ?? []).length === 0)) return true;
  return items.every((item, n) => {
    const d = item.dependsOn ?? [];
    return n === 0 ? d.length === 0 : d.length === 1 && d[0] === items[n - 1]!.id;
  });
}

export function batchRoute(dispatch: Dispatch): GraphRoute {
  return {
    method: 'POST',
    pattern: /^\/\$batch$/,
    handler: async (r: GraphRequest) => {
      const now = r.ctx.state.now();
      const items = parseItems(r.body);
      if (typeof items === 'string') return sendGraphError(r.ex, 400, 'BadRequest', items, now);
      if (items.length > MAX_BATCH_REQUESTS) {
        return sendGraphError(
          r.ex,
          400,
          'BadRequest',
          `Number of requests in the batch exceeds the limit of ${MAX_BATCH_REQUESTS}.`,
          now,
        );
      }
      if (!parallelOrSequential(items))
        return sendGraphError(
          r.ex,
          400,
          'BadRequest',
          'Batch should be either fully sequential or fully parallel',
          now,
        );
      for (const i of items) {
        for (const d of i.dependsOn ?? []) {
          if (!items.some((x) => x.id === d))
            return sendGraphError(
              r.ex,
              400,
              'BadRequest',
              `Request '${i.id}' depends on unknown request '${d}'.`,
              now,
            );
        }
      }
      const knobs = knobsOf(r.ctx.state);
      const done = new Map<string, ItemAnswer>();
      // Dependencies first (the order the documentation sequences them); the rest as listed.
      const run = async (item: BatchItem): Promise<ItemAnswer> => {
        const had = done.get(item.id);
        if (had) return had;
        let answer: ItemAnswer;
        const deps = await Promise.all(
          (item.dependsOn ?? []).map((d) => run(items.find((x) => x.id === d)!)),
        );
        if (deps.some((d) => d.status >= 400)) {
          answer = {
            id: item.id,
            status: 424,
            headers: { 'Content-Type': 'application/json' },
            body: { error: { code: 'FailedDependency', message: 'Failed Dependency' } },
          };
        } else {
          const tenantId = r.principal.tenant.id;
          const fault = knobs.faults.find(
            (f) => f.inBatch && f.remaining > 0 && (!f.tenantId || f.tenantId === tenantId),
          );
          if (fault) {
            fault.remaining -= 1;
            knobs.faults = knobs.faults.filter((f) => f.remaining > 0);
            answer = {
              id: item.id,
              status: 429,
              headers: { 'Retry-After': fault.retryAfter, 'Content-Type': 'application/json' },
              body: { error: { code: 'TooManyRequests', message: 'Please retry again later.' } },
            };
          } else {
            const url = new URL(item.url.replace(/^\/?(v1\.0\/)?/, '/'), 'https://graph.invalid');
            const sink = captured(r.ex);
            await dispatch(
              r.ctx,
              sink.ex,
              r.principal,
              item.method,
              url.pathname,
              url.searchParams,
              item.body,
            );
            answer = { id: item.id, ...sink.answer() };
          }
        }
        done.set(item.id, answer);
        return answer;
      };
      for (const item of items) await run(item);
      // Microsoft does not keep the request order; neither do we (callers match by id).
      const responses = [...done.values()].reverse();
      sendGraph(r.ex, 200, { responses });
    },
  };
}
