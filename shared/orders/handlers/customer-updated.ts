import { OrderRefusedError } from '../errors';
import { detailsChangeRefusal } from '../../onboarding/lifecycle';
import type { OrderHandler } from './context';
import { inviteStep } from './invite';

export const customerUpdated: OrderHandler<'customer.updated'> = async (ctx, deps) => {
  const before = ctx.customer!;
  const refusal = detailsChangeRefusal(before.status);
  if (refusal) throw new OrderRefusedError(refusal.code, refusal.message);
  const { customerId, subscriptions, ...fields } = ctx.data;
  const changes = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  // Microsoft decided the tenant of a customer who consented; an order cannot move it.
  const ignored =
    fields.tenantId !== undefined && before.consentState !== 'none' && fields.tenantId !== before.tenantId
      ? ['tenantId']
      : [];
  await ctx.step('customer', async () => {
    await deps.customers.update(customerId, changes, ctx.actor);
    return {};
  });
  if (subscriptions) {
    await ctx.step('subscriptions', async () => {
      await deps.subscriptions.replace(customerId, subscriptions, ctx.eventId);
      return {};
    });
  }
  const customer = await deps.customers.get(customerId);
  // A corrected admin address gets a new invitation while consent is still pending: the old link went elsewhere.
  let invitation: Record<string, unknown> | null = null;
  if (customer.status === 'active' && customer.consentState === 'invited' && customer.openInvitationId) {
    const open = (await deps.invitations.list({ customerId: customer.id })).find(
      (i) => i.id === customer.openInvitationId,
    );
    const stillOpen = open && (open.status === 'pending' || open.status === 'opened');
    if ((stillOpen && open.sentTo !== customer.adminEmail) || ctx.hasStep('invitation')) {
      invitation = { ...(await inviteStep(ctx, deps, customer)) };
    }
  }
  return {
    customerId: customer.id,
    fields: Object.keys(changes),
    ...(ignored.length ? { ignored } : {}),
    invitation,
    ...(subscriptions ? { subscriptions } : {}),
  };
};
