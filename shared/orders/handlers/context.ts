import type { Customer } from '../../onboarding/model';
import type { CustomerService } from '../../onboarding/customers';
import type { InvitationService } from '../../onboarding/invitations';
import type { OnboardingRepositories } from '../../onboarding/repositories';
import type { PendingCleanups } from '../cleanups';
import type { OrderedSubscriptions } from '../subscriptions';
import type { AuditLog } from '../../storage/audit';
import type { Outbox } from '../../outbox';
import type { Clock } from '../../clock';
import type { EventData, OrderEventType } from '../event-types';

/**
 * What a handler gets: the event, the customer it is about (when it exists), and `step`, which runs
 * a piece of work once per event: its completion is saved on the event row, so a run that is killed
 * half-way and started again skips what was done and continues. Each step is also safe to repeat
 * (the window between doing it and saving it cannot be closed).
 */
export interface OrderContext<T extends OrderEventType = OrderEventType> {
  eventId: string;
  type: T;
  occurredAt: string;
  data: EventData<T>;
  /** `orders:<event id>`: the audit actor of everything this event changes. */
  actor: string;
  customer: Customer | undefined;
  step<R>(name: string, fn: () => Promise<R>): Promise<R>;
  /** Whether an earlier run of this event completed the step. */
  hasStep(name: string): boolean;
}

/** The dial-plan capability's site operations, as orders drive them (bound late: dial plans are wired after orders). */
export interface SiteOrders {
  create(sbcId: string, input: unknown, actor: string): Promise<{ siteId: string; changeId: string }>;
  changePrefixes(
    sbcId: string,
    siteId: string,
    input: unknown,
    actor: string,
  ): Promise<{ changeIds: string[] }>;
  remove(sbcId: string, siteId: string, actor: string): Promise<{ changeId: string | null }>;
  /** The customer owning the site, or undefined when there is none (or it was removed). */
  ownerOf(sbcId: string, siteId: string): Promise<string | undefined>;
}

export interface OrderHandlerDeps {
  sites: SiteOrders;
  customers: CustomerService;
  invitations: InvitationService;
  access: { revoke(customerId: string, actor: string, reason: string): Promise<{ revoked: boolean }> };
  /** Read only (the invitations an earlier run of the event sent); onboarding writes them. */
  onboarding: OnboardingRepositories;
  cleanups: PendingCleanups;
  subscriptions: OrderedSubscriptions;
  audit: AuditLog;
  outbox: Outbox;
  now: Clock;
}

export type OrderHandler<T extends OrderEventType> = (
  ctx: OrderContext<T>,
  deps: OrderHandlerDeps,
) => Promise<Record<string, unknown>>;
