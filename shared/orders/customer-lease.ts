import { ConflictError } from '../errors';
import type { TableRepository } from '../storage/table-repository';
import type { CustomerOrderState } from './model';
import { CUSTOMER_STATE_PARTITION } from './repositories';

/**
 * One customer's orders are applied one at a time: a worker takes the customer's lease (an ETag
 * write) before it applies an event and gives it back after, recording the event as the newest of
 * its ordering group. A worker that dies keeps the lease only until it expires.
 */
export type OrderingGroup = 'status' | 'details';

export interface Watermark {
  group: OrderingGroup;
  at: string;
  eventId: string;
}

export interface CustomerLeases {
  /** The customer's order state with the lease held by `owner`, or undefined when another worker holds it. */
  acquire(customerKey: string, owner: string): Promise<CustomerOrderState | undefined>;
  /** Gives the lease back (if still ours) and moves the group's watermark forward (never back). */
  release(customerKey: string, owner: string, watermark?: Watermark): Promise<void>;
}

/** True when an event is older than the newest applied event of its group (and is not that event). */
export function isSuperseded(state: CustomerOrderState, mark: Watermark): boolean {
  const at = mark.group === 'status' ? state.statusAt : state.detailsAt;
  const by = mark.group === 'status' ? state.statusEventId : state.detailsEventId;
  return at !== undefined && by !== mark.eventId && Date.parse(mark.at) < Date.parse(at);
}

export function supersededBy(state: CustomerOrderState, group: OrderingGroup): string | undefined {
  return group === 'status' ? state.statusEventId : state.detailsEventId;
}

export function createCustomerLeases(deps: {
  repo: TableRepository<CustomerOrderState>;
  leaseSeconds: number;
  now: () => Date;
}): CustomerLeases {
  const { repo } = deps;
  return {
    async acquire(customerKey, owner) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const now = deps.now();
        const leaseUntil = new Date(now.getTime() + deps.leaseSeconds * 1000).toISOString();
        const current = await repo.get(CUSTOMER_STATE_PARTITION, customerKey);
        try {
          if (!current) {
            return (
              await repo.create({ customerKey, leaseOwner: owner, leaseUntil, updatedAt: now.toISOString() })
            ).value;
          }
          const held =
            current.value.leaseOwner !== undefined &&
            current.value.leaseOwner !== owner &&
            Date.parse(current.value.leaseUntil ?? '') > now.getTime();
          if (held) return undefined;
          return (
            await repo.update(
              { ...current.value, leaseOwner: owner, leaseUntil, updatedAt: now.toISOString() },
              current.etag,
            )
          ).value;
        } catch (e) {
          // Another worker wrote first: look again.
          if (!(e instanceof ConflictError)) throw e;
        }
      }
      return undefined;
    },

    async release(customerKey, owner, watermark) {
      await repo.mutate(CUSTOMER_STATE_PARTITION, customerKey, (s) => {
        const next: CustomerOrderState = { ...s };
        let changed = false;
        if (s.leaseOwner === owner) {
          next.leaseOwner = undefined;
          next.leaseUntil = undefined;
          changed = true;
        }
        if (watermark && !isSuperseded(s, watermark)) {
          const current = watermark.group === 'status' ? s.statusAt : s.detailsAt;
          if (current === undefined || Date.parse(watermark.at) >= Date.parse(current)) {
            if (watermark.group === 'status') {
              next.statusAt = watermark.at;
              next.statusEventId = watermark.eventId;
            } else {
              next.detailsAt = watermark.at;
              next.detailsEventId = watermark.eventId;
            }
            changed = true;
          }
        }
        if (!changed) return undefined;
        next.updatedAt = deps.now().toISOString();
        return next;
      });
    },
  };
}
