import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Communication Services access-key authentication, checked the way the service checks it:
 * `Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<sig>`, where
 * sig = base64(HMAC-SHA256(base64-decoded key, "<VERB>\n<path and query>\n<signed header values joined by ;>")),
 * x-ms-content-sha256 = base64(SHA-256(body)), and the date (x-ms-date, or Date) within 15 minutes.
 */
export interface HmacRequest {
  method: string;
  /** The path and query exactly as requested. */
  pathAndQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const MAX_SKEW_MS = 15 * 60 * 1000;

/** Undefined when the request is authentic, else why not (the text the 401 carries). */
export function hmacProblem(req: HmacRequest, accessKey: Buffer, nowMs = Date.now()): string | undefined {
  const auth = /^HMAC-SHA256\s+SignedHeaders=([^&\s]+)&Signature=(\S+)$/.exec(
    header(req, 'authorization') ?? '',
  );
  if (!auth) return 'Denied by the resource provider.';
  const signedHeaders = (auth[1] ?? '').toLowerCase().split(';');
  const dateHeader = signedHeaders.includes('x-ms-date') ? 'x-ms-date' : 'date';
  for (const required of [dateHeader, 'host', 'x-ms-content-sha256']) {
    if (!signedHeaders.includes(required) || header(req, required) === undefined) {
      return `The ${required} header must be present and signed.`;
    }
  }
  const date = Date.parse(header(req, dateHeader) ?? '');
  if (Number.isNaN(date) || Math.abs(nowMs - date) > MAX_SKEW_MS) {
    return `The ${dateHeader} header is missing, malformed, or more than 15 minutes from the current time.`;
  }
  if (createHash('sha256').update(req.body).digest('base64') !== header(req, 'x-ms-content-sha256')) {
    return "Request 'x-ms-content-sha256' differs from generated content hash.";
  }
  const stringToSign = `${req.method.toUpperCase()}\n${req.pathAndQuery}\n${signedHeaders.map((h) => header(req, h) ?? '').join(';')}`;
  const expected = createHmac('sha256', accessKey).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(auth[2] ?? '', 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? undefined
    : 'Denied by the resource provider.';
}

function header(req: HmacRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
