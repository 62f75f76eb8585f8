import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedIds } from '../../../dev/m365/seed';
import { Browser, invitedCustomer, signIn, startWorld, type World } from './world';

/**
 * APP_CREDENTIAL=managed-identity: no client secret anywhere. The app's managed identity (the
 * simulated App Service endpoint) is a federated credential of the app registration; its token for
 * api://AzureADTokenExchange is the client assertion when the code is redeemed.
 */
let world: World;

beforeAll(async () => {
  world = await startWorld({ APP_CREDENTIAL: 'managed-identity', APP_CLIENT_SECRET_NAME: 'no-such-secret' });
});

afterAll(async () => {
  await world?.stop();
});

it('redeems the code with the managed identity as the client assertion', async () => {
  const c = await invitedCustomer(world, { tenantId: seedIds.fabrikam.tenantId });
  const { result } = await signIn(world, new Browser(), c.token, {
    account: 'isaiah@fabrikam.com',
    consentForOrganization: true,
  });
  expect(result.status).toBe(200);
  expect(await world.services.customers.get(c.id)).toMatchObject({
    consentState: 'consented',
    tenantId: seedIds.fabrikam.tenantId,
    consentedBy: 'isaiah@fabrikam.com',
  });
  expect(await world.services.secrets.get('no-such-secret')).toBeUndefined();
});
