import type { Clock } from '../clock';
import { ConflictError } from '../errors';
import type { TableRepository } from '../storage/table-repository';
import type { CustomerOrderState } from './model';
import { CUSTOMER_STATE_PARTITION } from './repositories';

/**
 * Events of one ordering group (status, details) must not be undone by an older one arriving late:
 * each customer's state remembers the newest applied event of each group.
 */
export type OrderingGroup = 'status' | 'details';

export interface Watermark {
  group: OrderingGroup;
  at: string;
  eventId: string;
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

export function createWatermarks(deps: { repo: TableRepository<CustomerOrderState>; now: Clock }) {
  const { repo } = deps;
  const empty = (customerKey: string): CustomerOrderState => ({
    customerKey,
    updatedAt: deps.now().toISOString(),
  });
  return {
    async read(customerKey: string): Promise<CustomerOrderState> {
      return (await repo.get(CUSTOMER_STATE_PARTITION, customerKey))?.value ?? empty(customerKey);
    },

    /** Moves the group's watermark forward (never back). */
    async advance(customerKey: string, mark: Watermark): Promise<void> {
      const apply = (s: CustomerOrderState): CustomerOrderState | undefined => {
        const current = mark.group === 'status' ? s.statusAt : s.detailsAt;
        if (isSuperseded(s, mark) || (current !== undefined && Date.parse(mark.at) < Date.parse(current))) {
          return undefined;
        }
        return mark.group === 'status'
          ? { ...s, statusAt: mark.at, statusEventId: mark.eventId, updatedAt: deps.now().toISOString() }
          : { ...s, detailsAt: mark.at, detailsEventId: mark.eventId, updatedAt: deps.now().toISOString() };
      };
      if (await repo.mutate(CUSTOMER_STATE_PARTITION, customerKey, apply)) return;
      const first = apply(empty(customerKey));
      if (!first) return;
      try {
        await repo.create(first);
      } catch (e) {
        // Created meanwhile by another event of the customer's (one at a time, so only after a crash).
        if (!(e instanceof ConflictError)) throw e;
        await repo.mutate(CUSTOMER_STATE_PARTITION, customerKey, apply);
      }
    },
  };
}
export type Watermarks = ReturnType<typeof createWatermarks>;
