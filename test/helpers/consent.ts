import { driveSignIn } from '../../dev/m365/driver';
import type { Services } from '../../shared/services';

/**
 * The customer's admin consents for the organization through onboarding's own path: invited, the
 * invitation followed, Microsoft's simulated sign-in walked, the callback taken — so the refresh token
 * in the vault is the one production would hold. Also a re-consent, for a customer that has one.
 */
export async function consentAs(services: Services, customerId: string, adminEmail: string): Promise<void> {
  const sent = await services.invitations.send(customerId, 'test');
  const token = new URL(sent.url ?? 'https://missing.invalid/').pathname.split('/').pop() ?? '';
  const started = await services.consent.start(token);
  if (started.kind !== 'redirect') throw new Error(`start refused: ${JSON.stringify(started)}`);
  const walk = await driveSignIn(started.location, { account: adminEmail, consentForOrganization: true });
  const query = Object.fromEntries(new URL(walk.location ?? '').searchParams);
  const done = await services.consent.callback(query, started.browserKey);
  if (done.kind !== 'consented') throw new Error(`consent refused: ${JSON.stringify(done)}`);
}

/** A new customer, created and consented (see `consentAs`). */
export async function consentedCustomer(
  services: Services,
  customer: { id: string; name: string; adminEmail: string },
): Promise<string> {
  await services.customers.create(customer, 'test');
  await consentAs(services, customer.id, customer.adminEmail);
  return customer.id;
}
