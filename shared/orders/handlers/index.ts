import type { OrderEventType } from '../event-types';
import type { OrderHandler } from './context';
import { customerCreated } from './customer-created';
import { customerCancelled, customerResumed, customerSuspended } from './customer-status';
import { customerUpdated } from './customer-updated';
import { invitationResend } from './invitation-resend';
import { siteCreated, sitePrefixesChanged, siteRemoved } from './sites';

export type { OrderContext, OrderHandler, OrderHandlerDeps, SiteOrders } from './context';

/** One handler per event type; the type checker insists every type in `eventTypes` has one. */
export const handlers: { [T in OrderEventType]: OrderHandler<T> } = {
  'customer.created': customerCreated,
  'customer.updated': customerUpdated,
  'customer.suspended': customerSuspended,
  'customer.resumed': customerResumed,
  'customer.cancelled': customerCancelled,
  'site.created': siteCreated,
  'site.prefixes.changed': sitePrefixesChanged,
  'site.removed': siteRemoved,
  'invitation.resend': invitationResend,
};
