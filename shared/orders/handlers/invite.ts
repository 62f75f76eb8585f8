import type { Customer } from '../../onboarding/model';
import type { OrderContext, OrderHandlerDeps } from './context';

export interface InvitationResult {
  invitationId: string;
  sentTo: string;
  expiresAt: string;
  callbackId: string | null;
}

/** E-mails the admin an invitation (once per event), then tells the ordering system. */
export async function inviteStep(
  ctx: OrderContext,
  deps: OrderHandlerDeps,
  customer: Customer,
): Promise<InvitationResult> {
  const sent = await ctx.step('invitation', async () => {
    // Keyed by the event: a retry (after a crash or a storage outage) is the same invitation, and its
    // e-mail goes out at most once.
    const { invitation } = await deps.invitations.send(customer.id, ctx.actor, {
      idempotencyKey: `${ctx.eventId}:invitation`,
    });
    return { invitationId: invitation.id, sentTo: invitation.sentTo, expiresAt: invitation.expiresAt };
  });
  const callback = await ctx.step('notify:customer.invited', async () => {
    const queued = await deps.outbox.notify(
      'customer.invited',
      {
        customerId: customer.id,
        invitationId: sent.invitationId,
        sentTo: sent.sentTo,
        expiresAt: sent.expiresAt,
        orderEventId: ctx.eventId,
      },
      { key: `${ctx.eventId}:customer.invited:${sent.invitationId}`, customerId: customer.id },
    );
    return { callbackId: queued?.id ?? null };
  });
  return { ...sent, callbackId: callback.callbackId };
}
