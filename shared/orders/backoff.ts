/**
 * Exponential back-off with jitter: base, 2×base, 4×base … capped, each ±20% so the retries of a
 * batch of events spread out instead of arriving together. Whole seconds (queue visibility delays are).
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

export const addSeconds = (at: Date, seconds: number): string =>
  new Date(at.getTime() + seconds * 1000).toISOString();
