import selfsigned from 'selfsigned';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { seedIds } from '../../../dev/m365/seed';
import { refreshTokenSecretName } from '../../../shared/onboarding/consent-secret';
import { Browser, invitedCustomer, signIn, startWorld, type World } from './world';

/**
 * APP_CREDENTIAL=certificate: the app's private key and certificate are a Key Vault secret (PEM, as
 * Key Vault serves a certificate's secret); the token client signs the client assertion with them. The simulated
 * Microsoft accepts it only when the certificate is registered on the app registration. No client
 * secret is readable.
 *
 * One world per file (the app's services are per process), so the refusal is a rotation: the vault
 * gets a certificate that was never registered and the app reads it again after its reload interval.
 */
let world: World;
let secretName: string;
const { contoso, fabrikam } = seedIds;

async function appCertificate(): Promise<{ cert: string; pem: string }> {
  const generated = await selfsigned.generate([{ name: 'commonName', value: 'Switchboard app' }], {
    keySize: 2048,
    algorithm: 'sha256',
  });
  // Key Vault's PEM for a certificate: the private key, then the certificate.
  return { cert: generated.cert, pem: `${generated.private}\n${generated.cert}` };
}

beforeAll(async () => {
  const registered = await appCertificate();
  world = await startWorld(
    { APP_CREDENTIAL: 'certificate', APP_CLIENT_SECRET_NAME: 'no-such-secret' },
    {},
    { appCertificatePem: registered.cert },
  );
  secretName = world.services.config.identity.certificateSecretName;
  await world.services.secrets.set(secretName, registered.pem);
});

afterAll(async () => {
  vi.useRealTimers();
  await world?.stop();
});

const consent = async (c: { token: string }, account: string) =>
  (await signIn(world, new Browser(), c.token, { account, consentForOrganization: true })).result;

it('redeems the code with a client assertion signed by the registered certificate', async () => {
  const c = await invitedCustomer(world, { tenantId: fabrikam.tenantId });
  const result = await consent(c, 'isaiah@fabrikam.com');
  expect(result.status).toBe(200);
  expect(result.html).toContain('Thank you!');
  expect(await world.services.customers.get(c.id)).toMatchObject({
    consentState: 'consented',
    tenantId: fabrikam.tenantId,
    consentedBy: 'isaiah@fabrikam.com',
    tokenSecretName: refreshTokenSecretName(c.id, fabrikam.tenantId),
  });
  expect(await world.services.secrets.get(refreshTokenSecretName(c.id, fabrikam.tenantId))).toBeTruthy();
  expect(await world.services.secrets.get('no-such-secret')).toBeUndefined();
});

it('refuses the callback, storing nothing, when the certificate in the vault is not registered', async () => {
  await world.services.secrets.set(secretName, (await appCertificate()).pem);
  // The app reads its credential again after 10 minutes: move this process's clock (app and simulators) past that.
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  vi.setSystemTime(Date.now() + 11 * 60_000);

  const c = await invitedCustomer(world, { tenantId: contoso.tenantId });
  const result = await consent(c, 'patti@contoso.com');
  // Microsoft answers invalid_client (AADSTS700027): our credential is wrong, a 500 page for the operators.
  expect(result.status).toBe(500);
  expect(result.html).toContain('Something went wrong on our side');
  const errorId = /<code>([\w-]+)<\/code>/.exec(result.html)?.[1] ?? 'no error id';
  const logged = world.logs.map((l) => JSON.stringify(l)).filter((l) => l.includes(errorId));
  expect(logged.join('\n')).toContain('AADSTS700027');

  const customer = await world.services.customers.get(c.id);
  expect(customer.consentState).toBe('invited');
  expect(customer.tenantId).toBe(contoso.tenantId);
  expect(customer.tokenSecretName).toBeUndefined();
  expect(customer.consentedBy).toBeUndefined();
  expect(await world.services.secrets.get(refreshTokenSecretName(c.id, contoso.tenantId))).toBeUndefined();
  // The invitation was not used up: it can be tried again once the certificate is fixed.
  expect((await new Browser().get(`${world.base}/authenticate/${c.token}`)).status).toBe(200);
});
