import { driveSignIn } from '../../dev/m365/driver';
import type { Services } from '../../shared/services';

/**
 * A customer whose admin consented for the organization through onboarding's own path: created,
 * invited, the invitation followed, Microsoft's simulated sign-in walked, the callback taken — so the
 * refresh token in the vault is the one production would hold.
 */
export async function consentedCustomer(
  services: Services,
  customer: { id: string; name: string; adminEmail: string },
): Promise<string> {
  await services.customers.create(customer, 'test');
  const sent = await services.invitations.send(customer.id, 'test');
  const token = new URL(sent.url ?? 'https://missing.invalid/').pathname.split('/').pop() ?? '';
  const started = await services.consent.start(token);
  if (started.kind !== 'redirect') throw new Error(`start refused: ${JSON.stringify(started)}`);
  const walk = await driveSignIn(started.location, {
    account: customer.adminEmail,
    consentForOrganization: true,
  });
  const query = Object.fromEntries(new URL(walk.location ?? '').searchParams);
  const done = await services.consent.callback(query, started.browserKey);
  if (done.kind !== 'consented') throw new Error(`consent refused: ${JSON.stringify(done)}`);
  return customer.id;
}
