import type { Clock } from '../clock';
import { ConflictError } from '../errors';
import type { Lease } from './model';
import type { JobRepositories } from './repositories';
import { mayTakeLease, tableKey } from './rules';

/**
 * A lease per key within a scope (`orders.customer`, `mailbox:sbc` …): one holder at a time, taken
 * and given back with ETag writes. A holder that dies keeps it until it expires, except that the
 * same owner (a redelivered queue message) takes it back at once.
 */
export interface Leases {
  /** The lease, now held by `owner`, or undefined when someone else holds it. */
  acquire(scope: string, key: string, owner: string, seconds: number): Promise<Lease | undefined>;
  /** Extends a lease `owner` still holds; false when it was lost. */
  renew(scope: string, key: string, owner: string, seconds: number): Promise<boolean>;
  /** Gives the lease back if `owner` still holds it. */
  release(scope: string, key: string, owner: string): Promise<void>;
  /** Leases held right now in a scope (the table holds only live ones: released leases are deleted). */
  held(scope: string): Promise<Lease[]>;
  /** The scopes this process has used, for the maintenance view. */
  scopes(): string[];
}

export function createLeases(deps: { repos: JobRepositories; now: Clock }): Leases {
  const repo = deps.repos.leases;
  const used = new Set<string>();
  const untilFrom = (seconds: number) => new Date(deps.now().getTime() + seconds * 1000).toISOString();

  return {
    async acquire(scope, key, owner, seconds) {
      used.add(scope);
      for (let attempt = 0; attempt < 5; attempt++) {
        const now = deps.now();
        const current = await repo.get(scope, tableKey(key));
        if (current && !mayTakeLease(current.value, owner, now)) return undefined;
        const lease: Lease = { scope, key, owner, until: untilFrom(seconds), acquiredAt: now.toISOString() };
        try {
          return current ? (await repo.update(lease, current.etag)).value : (await repo.create(lease)).value;
        } catch (e) {
          // Another worker wrote first: look again.
          if (!(e instanceof ConflictError)) throw e;
        }
      }
      return undefined;
    },

    async renew(scope, key, owner, seconds) {
      const current = await repo.get(scope, tableKey(key));
      if (!current || current.value.owner !== owner) return false;
      try {
        await repo.update({ ...current.value, until: untilFrom(seconds) }, current.etag);
        return true;
      } catch (e) {
        if (e instanceof ConflictError) return false;
        throw e;
      }
    },

    async release(scope, key, owner) {
      const current = await repo.get(scope, tableKey(key));
      if (!current || current.value.owner !== owner) return;
      try {
        await repo.delete(scope, tableKey(key), current.etag);
      } catch (e) {
        // Taken over meanwhile (ours had expired): the new holder's lease stands.
        if (!(e instanceof ConflictError)) throw e;
      }
    },

    async held(scope) {
      const now = deps.now().getTime();
      const out: Lease[] = [];
      for await (const row of repo.listAll({ partitionKey: scope })) {
        if (Date.parse(row.value.until) > now) out.push(row.value);
      }
      return out;
    },

    scopes: () => [...used],
  };
}
