import { ConflictError } from '../../errors';
import type { Customer } from '../../onboarding/model';
import { OrderRefusedError } from '../errors';
import type { EventData } from '../event-types';
import type { OrderHandler } from './context';
import { inviteStep } from './invite';

/** The existing customer is the one this order describes (a retry under a new event id, or an operator got there first). */
function sameCustomer(c: Customer, d: EventData<'customer.created'>): boolean {
  return (
    c.name === d.name &&
    c.adminEmail === d.adminEmail &&
    (d.tenantDomain === undefined || c.tenantDomain === d.tenantDomain) &&
    (d.tenantId === undefined || c.tenantId === d.tenantId)
  );
}

export const customerCreated: OrderHandler<'customer.created'> = async (ctx, deps) => {
  const d = ctx.data;
  const made = await ctx.step('customer', async () => {
    try {
      await deps.customers.create(
        {
          id: d.customerId,
          name: d.name,
          adminEmail: d.adminEmail,
          tenantDomain: d.tenantDomain,
          tenantId: d.tenantId,
        },
        ctx.actor,
      );
      return { created: true };
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      const existing = await deps.customers.find(d.customerId);
      if (!existing) throw e;
      if (existing.createdBy === ctx.actor) return { created: true };
      if (existing.status === 'cancelled') {
        throw new OrderRefusedError(
          'customer_cancelled',
          `Customer '${existing.id}' was cancelled; its id cannot be used for a new customer.`,
          'data.customerId',
        );
      }
      if (!sameCustomer(existing, d)) {
        throw new OrderRefusedError(
          'customer_exists',
          `Customer '${existing.id}' already exists with other details; send customer.updated to change them.`,
          'data.customerId',
        );
      }
      return { created: false };
    }
  });
  if (d.subscriptions) {
    await ctx.step('subscriptions', async () => {
      await deps.subscriptions.replace(d.customerId, d.subscriptions!, ctx.eventId);
      return {};
    });
  }
  const customer = await deps.customers.get(d.customerId);
  let invitation: Record<string, unknown> | null = null;
  let invitationSkipped: string | null = null;
  if (d.sendInvitation === false) invitationSkipped = 'not requested';
  else if (customer.status !== 'active') invitationSkipped = `customer is ${customer.status}`;
  else if (!made.created && customer.consentState !== 'none' && !ctx.hasStep('invitation'))
    invitationSkipped = `customer already ${customer.consentState}`;
  else invitation = { ...(await inviteStep(ctx, deps, customer)) };
  return {
    customerId: customer.id,
    created: made.created,
    invitation,
    ...(invitationSkipped ? { invitationSkipped } : {}),
    subscriptions: d.subscriptions ?? [],
  };
};
