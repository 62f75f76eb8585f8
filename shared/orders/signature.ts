import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature scheme of the orders webhook and of the status callbacks we send back, Stripe-style:
 *
 *   X-Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * Several `v1=` may be given (one per secret while a secret is rotated); one match is enough. The
 * timestamp is signed too, so an old request cannot be replayed outside the tolerance.
 */
export const SIGNATURE_HEADER = 'x-switchboard-signature';
export const SIGNATURE_SCHEME = 'v1';

const MAX_HEADER_LENGTH = 2048;
const MAX_SIGNATURES = 8;

export type SignatureProblem =
  'missing_signature' | 'malformed_signature' | 'timestamp_out_of_tolerance' | 'signature_mismatch';

export interface ParsedSignature {
  timestamp: number;
  signatures: Buffer[];
}

/** `t=...,v1=...` → its parts; undefined when it is not that shape. Unknown schemes (v0=, …) are ignored. */
export function parseSignatureHeader(header: string): ParsedSignature | undefined {
  if (header.length > MAX_HEADER_LENGTH) return undefined;
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === SIGNATURE_SCHEME) {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return undefined;
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined || signatures.length === 0 || signatures.length > MAX_SIGNATURES)
    return undefined;
  return { timestamp, signatures };
}

/** HMAC over the exact bytes received: "<t>." followed by the raw body. */
export function computeSignature(secret: string, timestamp: number, body: Buffer | string): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${timestamp}.`, 'utf8')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest();
}

/** The header value for a body, signed with every given secret (current first). */
export function signatureHeader(secrets: string[], body: Buffer | string, timestamp: number): string {
  const parts = secrets.map(
    (s) => `${SIGNATURE_SCHEME}=${computeSignature(s, timestamp, body).toString('hex')}`,
  );
  return [`t=${timestamp}`, ...parts].join(',');
}

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; problem: SignatureProblem };

/**
 * Checks a header against the body with each secret. Every comparison is constant-time and every
 * secret × signature pair is compared, so the time taken does not tell which one was close.
 */
export function verifySignature(
  header: string | null | undefined,
  body: Buffer,
  secrets: string[],
  options: { nowSeconds: number; toleranceSeconds: number },
): VerifyResult {
  if (header === null || header === undefined || header.trim() === '') {
    return { ok: false, problem: 'missing_signature' };
  }
  const parsed = parseSignatureHeader(header);
  if (!parsed) return { ok: false, problem: 'malformed_signature' };
  if (Math.abs(options.nowSeconds - parsed.timestamp) > options.toleranceSeconds) {
    return { ok: false, problem: 'timestamp_out_of_tolerance' };
  }
  let matched = false;
  for (const secret of secrets) {
    const expected = computeSignature(secret, parsed.timestamp, body);
    for (const given of parsed.signatures) {
      if (timingSafeEqual(expected, given)) matched = true;
    }
  }
  return matched ? { ok: true, timestamp: parsed.timestamp } : { ok: false, problem: 'signature_mismatch' };
}
