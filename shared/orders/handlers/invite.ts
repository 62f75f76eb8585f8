import type { Customer, Invitation } from '../../onboarding/model';
import { INVITATION_PARTITION } from '../../onboarding/repositories';
import { escapeOData } from '../../storage/table-repository';
import type { OrderContext, OrderHandlerDeps } from './context';

export interface InvitationResult {
  invitationId: string;
  sentTo: string;
  expiresAt: string;
  callbackId: string | null;
}

/**
 * The invitation this event already sent, if a run of it got as far as the e-mail. A row an earlier
 * run created but never marked sent (it died around the e-mail) is withdrawn, so that of the links
 * that may have gone out only the new one works.
 */
async function sentBy(
  deps: OrderHandlerDeps,
  customerId: string,
  actor: string,
): Promise<Invitation | undefined> {
  const unconfirmed: Invitation[] = [];
  for await (const row of deps.onboarding.invitations.listAll({
    partitionKey: INVITATION_PARTITION,
    filter: `customerId eq '${escapeOData(customerId)}' and createdBy eq '${escapeOData(actor)}'`,
  })) {
    if (row.value.emailOperationId && row.value.status !== 'failed') return row.value;
    if (row.value.status === 'pending' || row.value.status === 'opened') unconfirmed.push(row.value);
  }
  for (const i of unconfirmed)
    await deps.invitations.revoke(i.id, actor, 'superseded by a retry of its order');
  return undefined;
}

/** E-mails the admin an invitation (once per event), then tells the ordering system. */
export async function inviteStep(
  ctx: OrderContext,
  deps: OrderHandlerDeps,
  customer: Customer,
): Promise<InvitationResult> {
  const sent = await ctx.step('invitation', async () => {
    const earlier = await sentBy(deps, customer.id, ctx.actor);
    if (earlier) return { invitationId: earlier.id, sentTo: earlier.sentTo, expiresAt: earlier.expiresAt };
    const { invitation } = await deps.invitations.send(customer.id, ctx.actor);
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
