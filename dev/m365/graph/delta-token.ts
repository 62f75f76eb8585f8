/**
 * The simulator's delta and skip tokens, shared by every delta it serves (users, groups, directory
 * roles): opaque to clients, as Microsoft's are, but here a base64url JSON of where a round stands.
 */
export interface RoundState<K extends string> {
  k: K;
  /** The tenant. */
  t: string;
  /** $select, or null for the default properties. */
  s: string[] | null;
  /** Changes above this stamp are in the round; 0 with `f` = the initial full round. */
  q: number;
  /** The stamp the round stops at (skip tokens only). */
  u?: number;
  f?: boolean;
  /** The tenant's reset epoch when issued (a reset makes older tokens answer "start over"). */
  e: number;
  /** Issued at (tokens expire). */
  i: number;
  /** Paging: objects with an id above `a`. */
  a?: string;
}

export const encodeToken = (s: object): string => Buffer.from(JSON.stringify(s)).toString('base64url');

/** The state in a token, or undefined for one we did not issue for these kinds. */
export function decodeToken<S extends RoundState<string>>(
  token: string,
  kinds: readonly string[],
): S | undefined {
  try {
    const s = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as S;
    return typeof s.t === 'string' && kinds.includes(s.k) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** A first (full) round of `kind` in a tenant, as of its change counter now. */
export function firstRound<K extends string>(
  kind: K,
  tenantId: string,
  select: string[] | undefined,
  changes: { seq: number; epoch: number },
  now: number,
): RoundState<K> & { u: number } {
  return { k: kind, t: tenantId, s: select ?? null, q: 0, u: changes.seq, f: true, e: changes.epoch, i: now };
}
