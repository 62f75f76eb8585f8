/**
 * The platform's pure decisions: retry delays, lease ownership, due buckets.
 */

/**
 * Exponential back-off with jitter: base, 2×base, 4×base … capped, each ±20% so the retries of a
 * burst spread out instead of arriving together. Whole seconds (queue visibility delays are).
 */
export function backoffSeconds(
  attempt: number,
  baseSeconds: number,
  options: { capSeconds?: number; random?: () => number } = {},
): number {
  const cap = options.capSeconds ?? 3600;
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const delay = Math.min(cap, baseSeconds * 2 ** exponent);
  const jitter = 0.8 + 0.4 * (options.random ?? Math.random)();
  return Math.max(1, Math.round(delay * jitter));
}

/**
 * Whether `owner` may take a lease now: it is free, expired, or already `owner`'s. A queue message
 * redelivered after its worker failed carries the same message id, so it takes its own lease back
 * at once instead of waiting for the lease to expire.
 */
export function mayTakeLease(
  lease: { owner: string; until: string } | undefined,
  owner: string,
  now: Date,
): boolean {
  return !lease || lease.owner === owner || Date.parse(lease.until) <= now.getTime();
}

/** The hour a due time falls in: the due index's partition (`2026-11-30T10`). */
export function dueBucket(at: string | Date): string {
  return (typeof at === 'string' ? at : at.toISOString()).slice(0, 13);
}

/** The hour buckets from `from` to `to`, inclusive, oldest first (at most `limit`). */
export function bucketsBetween(from: string, to: string, limit = 24 * 8): string[] {
  const out: string[] = [];
  let t = Date.parse(`${from}:00:00.000Z`);
  const end = Date.parse(`${to}:00:00.000Z`);
  while (t <= end && out.length < limit) {
    out.push(new Date(t).toISOString().slice(0, 13));
    t += 3_600_000;
  }
  return out;
}

/** A key as a Table key: the characters Table Storage forbids in keys (`/ \ # ?`, controls) are escaped. */
export const tableKey = (value: string): string => encodeURIComponent(value);
