import { describe, expect, it } from 'vitest';
import {
  detailsChangeRefusal,
  invitationRefusal,
  serviceGate,
  statusTransition,
} from '../../../../shared/onboarding/lifecycle';

describe('customer lifecycle', () => {
  it('follows the rules', () => {
    expect(statusTransition('suspend', 'active')).toEqual({ kind: 'change', to: 'suspended' });
    expect(statusTransition('suspend', 'suspended').kind).toBe('unchanged');
    expect(statusTransition('suspend', 'cancelled').kind).toBe('unchanged');
    expect(statusTransition('resume', 'suspended')).toEqual({ kind: 'change', to: 'active' });
    expect(statusTransition('resume', 'active').kind).toBe('unchanged');
    expect(statusTransition('resume', 'cancelled')).toMatchObject({
      kind: 'refused',
      code: 'customer_cancelled',
    });
    expect(statusTransition('cancel', 'active')).toEqual({ kind: 'change', to: 'cancelled' });
    expect(statusTransition('cancel', 'suspended')).toEqual({ kind: 'change', to: 'cancelled' });
    expect(statusTransition('cancel', 'cancelled').kind).toBe('unchanged');
    expect(invitationRefusal('active')).toBeUndefined();
    expect(invitationRefusal('suspended')?.code).toBe('customer_suspended');
    expect(invitationRefusal('cancelled')?.code).toBe('customer_cancelled');
    expect(detailsChangeRefusal('suspended')).toBeUndefined();
    expect(detailsChangeRefusal('cancelled')?.code).toBe('customer_cancelled');
  });
});

describe('the service gate', () => {
  it('lets work go on only for an active customer whose consent stands, and says why not otherwise', () => {
    expect(serviceGate({ status: 'active', consentState: 'consented' })).toBeUndefined();
    expect(serviceGate({ status: 'suspended', consentState: 'consented' })).toBe('suspended');
    expect(serviceGate({ status: 'cancelled', consentState: 'none' })).toBe('cancelled');
    expect(serviceGate({ status: 'active', consentState: 'needs_consent' })).toBe('needs_consent');
    expect(serviceGate({ status: 'active', consentState: 'invited' })).toBe('not_consented');
    expect(serviceGate({ status: 'active', consentState: 'none' })).toBe('not_consented');
  });
});
