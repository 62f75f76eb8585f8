import { OrderRefusedError } from '../errors';
import { invitationRefusal } from '../../onboarding/lifecycle';
import type { OrderHandler } from './context';
import { inviteStep } from './invite';

export const invitationResend: OrderHandler<'invitation.resend'> = async (ctx, deps) => {
  const customer = ctx.customer!;
  const refusal = ctx.hasStep('invitation') ? undefined : invitationRefusal(customer.status);
  if (refusal) throw new OrderRefusedError(refusal.code, refusal.message);
  return { customerId: customer.id, invitation: { ...(await inviteStep(ctx, deps, customer)) } };
};
