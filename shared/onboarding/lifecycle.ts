import type { ConsentState, CustomerStatus } from './model';

/**
 * What may be done to a customer in each state, whoever asks (an order, an operator). Repeating a state is a no-op (an ordering system
 * that retries is not an error); cancelled is final: its data and audit trail stay, but it cannot be
 * resumed, changed or invited again.
 */
export type StatusAction = 'suspend' | 'resume' | 'cancel';

export type Transition =
  | { kind: 'change'; to: CustomerStatus }
  | { kind: 'unchanged'; reason: string }
  | { kind: 'refused'; code: string; message: string };

export function statusTransition(action: StatusAction, from: CustomerStatus): Transition {
  switch (action) {
    case 'suspend':
      if (from === 'active') return { kind: 'change', to: 'suspended' };
      return {
        kind: 'unchanged',
        reason: from === 'suspended' ? 'already suspended' : 'cancelled, which already stops the service',
      };
    case 'resume':
      if (from === 'suspended') return { kind: 'change', to: 'active' };
      if (from === 'active') return { kind: 'unchanged', reason: 'already active' };
      return {
        kind: 'refused',
        code: 'customer_cancelled',
        message: 'A cancelled customer cannot be resumed; order a new customer instead.',
      };
    case 'cancel':
      if (from === 'cancelled') return { kind: 'unchanged', reason: 'already cancelled' };
      return { kind: 'change', to: 'cancelled' };
  }
}

/** Details (name, admin, tenant) may change until the customer is cancelled. */
export function detailsChangeRefusal(status: CustomerStatus): { code: string; message: string } | undefined {
  return status === 'cancelled'
    ? { code: 'customer_cancelled', message: 'A cancelled customer cannot be changed.' }
    : undefined;
}

/** Invitations go only to active customers: a suspended one is paused, a cancelled one is gone. */
export function invitationRefusal(status: CustomerStatus): { code: string; message: string } | undefined {
  if (status === 'active') return undefined;
  return {
    code: `customer_${status}`,
    message: `The customer is ${status}; no invitation can be sent${status === 'suspended' ? ' until it is resumed' : ''}.`,
  };
}

/**
 * The one customer-status gate every background worker asks before it touches a customer's tenant
 * (token checks, replication, pushes, SBC changes): undefined when work may go on, else why not.
 * Suspension stops the service (replication and changes) but keeps the data.
 */
export type ServiceRefusal = 'suspended' | 'cancelled' | 'not_consented' | 'needs_consent';

export function serviceGate(customer: {
  status: CustomerStatus;
  consentState: ConsentState;
}): ServiceRefusal | undefined {
  if (customer.status !== 'active') return customer.status;
  if (customer.consentState === 'needs_consent') return 'needs_consent';
  if (customer.consentState !== 'consented') return 'not_consented';
  return undefined;
}
