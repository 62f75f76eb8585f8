import { NotFoundError } from '../../errors';
import { OrderRefusedError } from '../errors';
import { statusTransition, type StatusAction } from '../../onboarding/lifecycle';
import type { OrderContext, OrderHandler, OrderHandlerDeps } from './context';

type StatusEvent = 'customer.suspended' | 'customer.resumed' | 'customer.cancelled';

function statusHandler<T extends StatusEvent>(action: StatusAction): OrderHandler<T> {
  return async (ctx, deps) => {
    const customer = ctx.customer!;
    const transition = statusTransition(action, customer.status);
    if (transition.kind === 'refused') throw new OrderRefusedError(transition.code, transition.message);
    if (transition.kind === 'change') {
      await ctx.step('status', async () => {
        await deps.customers.setStatus(customer.id, transition.to, ctx.actor, ctx.data.reason);
        return { from: customer.status, to: transition.to };
      });
    }
    const cleanup = action === 'cancel' ? await cancelCleanup(ctx, deps, transition.kind === 'change') : {};
    return {
      customerId: customer.id,
      status: transition.kind === 'change' ? transition.to : customer.status,
      changed: transition.kind === 'change' || ctx.hasStep('status'),
      ...(transition.kind === 'unchanged' ? { note: transition.reason } : {}),
      ...cleanup,
    };
  };
}

/**
 * After a cancellation: the open invitation stops working, the stored refresh token is deleted from
 * Key Vault (our access ends; the audit trail stays; onboarding does it), and a pending SBC cleanup
 * is recorded, which the dial-plan capability consumes (`OrdersService.cleanups`).
 */
async function cancelCleanup(
  ctx: OrderContext<StatusEvent>,
  deps: OrderHandlerDeps,
  changedNow: boolean,
): Promise<Record<string, unknown>> {
  const id = ctx.customer!.id;
  const invitation = await ctx.step('invitation', async () => {
    const c = await deps.customers.get(id);
    if (!c.openInvitationId) return { revoked: null };
    await deps.invitations.revoke(c.openInvitationId, ctx.actor, 'customer cancelled').catch((e: unknown) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
    return { revoked: c.openInvitationId };
  });
  const token = await ctx.step('token', async () => ({
    revoked: (await deps.access.revoke(id, ctx.actor, 'customer cancelled')).revoked,
  }));
  let pendingCleanup: string[] = [];
  if (changedNow || ctx.hasStep('status')) {
    pendingCleanup = (
      await ctx.step('sbc-cleanup', async () => {
        await deps.cleanups.request('sbc', id, ctx.eventId);
        await deps.audit.record({
          actor: ctx.actor,
          action: 'sbc.cleanup_pending',
          customerId: id,
          details: { reason: 'customer cancelled', orderEventId: ctx.eventId },
        });
        return { pending: ['sbc-sites'] };
      })
    ).pending;
  }
  return { invitationRevoked: invitation.revoked, tokenRevoked: token.revoked, pendingCleanup };
}

export const customerSuspended = statusHandler<'customer.suspended'>('suspend');
export const customerResumed = statusHandler<'customer.resumed'>('resume');
export const customerCancelled = statusHandler<'customer.cancelled'>('cancel');
