import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthLevel } from '../../shared/triggers';

/**
 * Function keys, as the Functions host checks them. The keys given to the local host act like host
 * keys: each one opens every `function`-level endpoint. Only the key named `master` opens
 * `admin`-level endpoints and the host's own admin API. A caller presents a key in the
 * `x-functions-key` header or, when that header is absent, in the `code` query parameter.
 */
export type FunctionKeys = Record<string, string>;

export function presentedKey(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const header = headers['x-functions-key'];
  const value = Array.isArray(header) ? header[0] : header;
  return value ?? query.get('code') ?? undefined;
}

export function isAuthorized(level: AuthLevel, key: string | undefined, keys: FunctionKeys): boolean {
  if (level === 'anonymous') return true;
  if (key === undefined || key === '') return false;
  const master = keys.master;
  if (level === 'admin') return master !== undefined && sameKey(key, master);
  return Object.values(keys).some((k) => sameKey(key, k));
}

// Compare digests so neither the length nor the content leaks through timing.
function sameKey(a: string, b: string): boolean {
  if (b === '') return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}
