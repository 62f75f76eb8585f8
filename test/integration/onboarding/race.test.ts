import { afterAll, beforeAll, expect, it } from 'vitest';
import { driveSignIn } from '../../../dev/m365/driver';
import { seedIds } from '../../../dev/m365/seed';
import { refreshTokenSecretName } from '../../../shared/onboarding/consent-secret';
import { TENANT_PARTITION } from '../../../shared/onboarding/repositories';
import { Browser, invitedCustomer, startWorld, type World } from './world';

/**
 * Two admins of two different organizations finish the same invitation at the same moment. One
 * customer, one tenant: exactly one wins, and the other leaves nothing behind (no tenant claim, no
 * token in the vault). A file of its own: it uses up two of the simulator's tenants.
 */
let world: World;

beforeAll(async () => {
  world = await startWorld();
});

afterAll(async () => {
  await world?.stop();
});

it('records exactly one organization and leaves nothing of the other', async () => {
  const { fabrikam, northwind } = seedIds;
  const c = await invitedCustomer(world);
  const admins = [
    { browser: new Browser(), account: 'isaiah@fabrikam.com', tenantId: fabrikam.tenantId },
    { browser: new Browser(), account: 'nestor@northwindtraders.com', tenantId: northwind.tenantId },
  ];
  const returns = await Promise.all(
    admins.map(async (a) => {
      const start = await a.browser.post(`${world.base}/authenticate/${c.token}/start`);
      const walk = await driveSignIn(start.headers.get('location') ?? '', {
        account: a.account,
        consentForOrganization: true,
      });
      return walk.location ?? '';
    }),
  );
  const results = await Promise.all(admins.map((a, i) => a.browser.get(returns[i] ?? '')));
  const statuses = results.map((r) => r.status);
  expect(statuses.filter((s) => s === 200)).toHaveLength(1);
  // The loser was refused either at the commit (another organization got there first) or because
  // the invitation was already used by the time it came back.
  expect(statuses.find((s) => s !== 200)).toBeOneOf([403, 410]);

  const winner = admins[statuses.indexOf(200)]!;
  const loser = admins[statuses.findIndex((s) => s !== 200)]!;
  const customer = await world.services.customers.get(c.id);
  expect(customer).toMatchObject({ consentState: 'consented', tenantId: winner.tenantId });
  expect(customer.tokenSecretName).toBe(refreshTokenSecretName(c.id, winner.tenantId));
  expect(await world.services.secrets.get(refreshTokenSecretName(c.id, winner.tenantId))).toBeTruthy();
  expect(await world.services.secrets.get(refreshTokenSecretName(c.id, loser.tenantId))).toBeUndefined();
  const owner = await world.services.onboarding.tenants.get(TENANT_PARTITION, loser.tenantId);
  expect(owner).toBeUndefined();
});
