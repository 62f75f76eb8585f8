import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSbcSimulator, type SbcSimulator } from '../../../dev/sbc/server';
import { ensureDevCertificates } from '../../../dev/tls/certs';
import { loadConfig } from '../../../shared/config';
import { silentLog } from '../../../shared/log';
import { createServices, type Services } from '../../../shared/services';
import {
  customerCreated,
  ordersSettings,
  putSecrets,
  sign,
  unique,
  type OrdersTestSettings,
} from '../orders/helpers';

/** Order events drive the same site changes as the API: created, prefixes changed, removed, cancelled. */
let sim: SbcSimulator;
let services: Services;
let t: OrdersTestSettings;

async function order(type: string, data: Record<string, unknown>, base?: Record<string, unknown>) {
  const event = base ?? {
    id: unique('evt'),
    type,
    occurredAt: new Date().toISOString(),
    specVersion: '1',
    data,
  };
  const body = JSON.stringify(event);
  const received = await services.orders.intake.receive(
    { signature: sign(body, [t.secret]), body: Buffer.from(body) },
    silentLog,
  );
  expect(received.status).toBe(202);
  await services.orders.processor.process(String(event.id), silentLog);
  return services.orders.events.get(String(event.id));
}
const prefixesOnDevice = () =>
  [...(sim.state.dialPlans.get('Customers')?.rules.values() ?? [])].map((r) => `${r.name} ${r.prefix}`);
const apply = () => services.dialplan.apply('ams', `msg:${Math.random()}`, silentLog);

beforeAll(async () => {
  const { cert, key } = await ensureDevCertificates();
  sim = await startSbcSimulator({ tls: { cert, key }, username: 'Admin', password: 'Orders-Sbc-1' });
  sim.addDialPlan('Customers');
  t = ordersSettings({ SBC_QUIET_SECONDS: '0' });
  process.env.IDENTITY_ENDPOINT = t.settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = t.settings.IDENTITY_HEADER;
  services = createServices(loadConfig(t.settings));
  await putSecrets(services, t);
  await services.dialplan.sbcs.add(
    {
      id: 'ams',
      name: 'Amsterdam',
      fqdn: '127.0.0.1',
      port: Number(new URL(sim.url).port),
      adminUser: 'Admin',
      adminPassword: 'Orders-Sbc-1',
    },
    'test',
  );
});

afterAll(async () => {
  await sim?.stop();
});

describe('order events for SBC sites', () => {
  it('create a site, change its prefixes and remove it, as the API would', async () => {
    await order(
      'customer.created',
      {},
      customerCreated('wingtip', { data: { ...customerCreated('wingtip').data, subscriptions: null } }),
    );
    const created = await order('site.created', {
      customerId: 'wingtip',
      sbcId: 'ams',
      configuration: 'sip-trunk',
      dialPlan: 'Customers',
      carrierId: 'Carrier',
      prefixes: ['+4420100'],
    });
    expect(created).toMatchObject({ status: 'succeeded' });
    await apply();
    expect(prefixesOnDevice()).toEqual(['wingtip +4420100']);
    expect(await services.dialplan.sites.get('ams', 'wingtip')).toMatchObject({ sbcState: 'deployed' });

    expect(
      await order('site.prefixes.changed', {
        customerId: 'wingtip',
        sbcId: 'ams',
        siteId: 'wingtip',
        add: ['+4420200'],
        remove: ['+4420100'],
      }),
    ).toMatchObject({
      status: 'succeeded',
    });
    await apply();
    expect(prefixesOnDevice()).toEqual(['wingtip +4420200']);

    // Another customer's order cannot touch this site.
    await order('customer.created', {}, customerCreated('mallory'));
    expect(
      await order('site.removed', { customerId: 'mallory', sbcId: 'ams', siteId: 'wingtip' }),
    ).toMatchObject({ status: 'failed' });
    // A value that would add a line to the script is refused at the webhook, before it is stored.
    await expect(
      order('site.prefixes.changed', {
        customerId: 'wingtip',
        sbcId: 'ams',
        siteId: 'wingtip',
        add: ['+44"\ndo write'],
      }),
    ).rejects.toThrow(/site.prefixes.changed event is not valid/);

    expect(
      await order('site.removed', { customerId: 'wingtip', sbcId: 'ams', siteId: 'wingtip' }),
    ).toMatchObject({ status: 'succeeded' });
    await apply();
    expect(prefixesOnDevice()).toEqual([]);
    expect(sim.state.ipGroups).toEqual([]);
  });

  it('cleans up a cancelled customer’s sites from the cleanup orders recorded', async () => {
    await order('customer.created', {}, customerCreated('fourthcoffee'));
    await order('site.created', {
      customerId: 'fourthcoffee',
      sbcId: 'ams',
      configuration: 'byoc',
      dialPlan: 'Customers',
      carrierId: 'Carrier',
      prefixes: ['+4430'],
    });
    await apply();
    expect(prefixesOnDevice()).toEqual(['fourthcoffee +4430']);
    expect(
      await order('customer.cancelled', { customerId: 'fourthcoffee', reason: 'contract ended' }),
    ).toMatchObject({ status: 'succeeded' });
    expect(await services.dialplan.consumeCleanups(silentLog)).toMatchObject({ sites: 1 });
    await apply();
    expect(prefixesOnDevice()).toEqual([]);
    expect(await services.dialplan.sites.get('ams', 'fourthcoffee')).toMatchObject({ sbcState: 'removed' });
  });
});
