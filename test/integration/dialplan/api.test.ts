import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../../../dev/host';
import { startSbcSimulator, type SbcSimulator } from '../../../dev/sbc/server';
import { ensureDevCertificates } from '../../../dev/tls/certs';
import { loadConfig } from '../../../shared/config';
import { createServices, type Services } from '../../../shared/services';
import { startTestHost, TEST_FUNCTION_KEY } from '../../helpers/host';
import { testSettings } from '../../helpers/stack';
import { waitFor } from '../../helpers/wait';

/**
 * The dial-plan API through the local Functions host, with its queue worker: an operator adds an SBC
 * and a site, and the site lands on the device without anyone calling the worker.
 */
const PASSWORD = 'Api-Sbc-Pa55word';
let sim: SbcSimulator;
let host: Host;
let services: Services;

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${host.url}${path}`, {
    method,
    headers: { 'x-functions-key': TEST_FUNCTION_KEY, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  // A test reads answers loosely; the OpenAPI test and the views' schemas hold their shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, text, body: (text ? JSON.parse(text) : undefined) as Record<string, any> };
};

beforeAll(async () => {
  const { cert, key } = await ensureDevCertificates();
  sim = await startSbcSimulator({ tls: { cert, key }, username: 'Admin', password: PASSWORD });
  sim.addDialPlan('Customers');
  // One attempt, so a change to an unreachable SBC parks as failed at once (the back-off is tested elsewhere).
  const settings = testSettings({ SBC_QUIET_SECONDS: '1', SBC_MAX_ATTEMPTS: '1' });
  process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER;
  services = createServices(loadConfig(settings));
  host = await startTestHost(settings);
  await services.customers.create(
    { id: 'adatum', name: 'Adatum', adminEmail: 'admin@adatum.example.com' },
    'test',
  );
});

afterAll(async () => {
  await host?.stop();
  await sim?.stop();
});

describe('SBC dial-plan API', () => {
  it('adds an SBC with its live status, never answering its password', async () => {
    const port = Number(new URL(sim.url).port);
    const bad = await call('POST', '/api/sbcs', {
      id: 'ams1',
      name: 'x',
      fqdn: 'not a host',
      adminUser: 'Admin',
    });
    expect(bad.status).toBe(400);
    const added = await call('POST', '/api/sbcs', {
      id: 'ams1',
      name: 'Amsterdam',
      fqdn: '127.0.0.1',
      port,
      adminUser: 'Admin',
      adminPassword: PASSWORD,
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      id: 'ams1',
      https: true,
      counts: { sites: 0, sipAccounts: 0, rules: 0 },
    });
    const got = await call('GET', '/api/sbcs/ams1');
    expect(got.body.status).toMatchObject({
      reachable: true,
      operationalState: 'UNLOCKED',
      versionID: '7.40A.500.123',
    });
    const listed = await call('GET', '/api/sbcs');
    expect(listed.body.items).toHaveLength(1);
    for (const r of [added, got, listed]) expect(r.text).not.toContain(PASSWORD);
    expect(
      (
        await call('POST', '/api/sbcs', {
          id: 'ams1',
          name: 'again',
          fqdn: '127.0.0.1',
          adminUser: 'A',
          adminPassword: 'x',
        })
      ).status,
    ).toBe(409);
  });

  it('creates a site whose deployment the queue worker pushes to the device', async () => {
    const created = await call('POST', '/api/sbcs/ams1/sites', {
      customerId: 'adatum',
      configuration: 'sip-trunk',
      dialPlan: 'Customers',
      carrierId: 'Carrier',
      prefixes: ['+3120777', '+3120778'],
    });
    expect(created.status).toBe(202);
    expect(created.body.site).toMatchObject({ sbcState: 'pending', ruleName: 'adatum' });
    await waitFor(
      async () => (await call('GET', '/api/sbcs/ams1/sites/adatum')).body.sbcState === 'deployed',
      20_000,
    );
    expect([...sim.state.dialPlans.get('Customers')!.rules.values()].map((r) => r.prefix)).toEqual([
      '+3120777',
      '+3120778',
    ]);
    expect(sim.state.ipGroups.map((g) => g.fields.get('name'))).toEqual(['adatum-c', 'adatum-t']);
    const sbc = await call('GET', '/api/sbcs/ams1');
    expect(sbc.body.counts).toEqual({ sites: 1, sipAccounts: 0, rules: 2 });

    const injected = await call('POST', '/api/sbcs/ams1/sites/adatum/prefixes', {
      add: ['+31"\nno ip-group where name "adatum-c'],
    });
    expect(injected.status).toBe(400);
    expect(sim.state.ipGroups).toHaveLength(2);
  });

  it('parks a change the SBC did not take as failed, lists it, and lands it when re-queued', async () => {
    sim.state.unreachable = true;
    const failing = await call('POST', '/api/sbcs/ams1/sites/adatum/prefixes', { add: ['+3199'] });
    expect(failing.status).toBe(202);
    const id = failing.body.changes[0].id as string;
    const path = `/api/sbc-changes/ams1/${encodeURIComponent(id)}`;
    await waitFor(async () => (await call('GET', path)).body.status === 'failed', 20_000);
    expect((await call('GET', path)).body.error).toMatch(/gave up after 1 attempts/);
    const failed = await call('GET', '/api/sbc-changes?status=failed');
    expect(failed.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    expect((await call('GET', '/api/sbc-changes?status=applied&sbcId=ams1')).body.items).toHaveLength(1);
    sim.state.unreachable = false;
    expect((await call('POST', `${path}/retry`)).status).toBe(202);
    await waitFor(async () => (await call('GET', path)).body.status === 'applied', 20_000);
    expect([...sim.state.dialPlans.get('Customers')!.rules.values()].map((r) => r.prefix)).toContain('+3199');
    expect((await call('POST', `${path}/retry`)).status).toBe(409);
  });

  it('keeps template versions, refuses a bad one with the hint, compares and previews', async () => {
    const list = await call('GET', '/api/sbc-templates');
    expect(list.body.items.map((t: { name: string }) => t.name)).toEqual([
      'sbc-scenario7',
      'sbc-scenario7Cleanup',
      'sbc-add-prefix',
      'sbc-remove-prefix',
      'teams-direct-routing',
    ]);
    const original = (await call('GET', '/api/sbc-templates/sbc-add-prefix')).body.source as string;
    const refused = await call('POST', '/api/sbc-templates/sbc-add-prefix', {
      source: original.replace('{{this.Tag}}', '{{SysAdmin.O365OnlinePSTNGateway}}'),
    });
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('use SBC.OnlinePstnGateway');
    const saved = await call('POST', '/api/sbc-templates/sbc-add-prefix', {
      source: original.replace('tag "{{this.Tag}}"', 'tag "{{this.Tag}}"\nactivate'),
      comment: 'activate each rule',
    });
    expect(saved.status).toBe(201);
    expect(saved.body.version).toBe(2);
    expect(
      (await call('GET', '/api/sbc-templates/sbc-add-prefix/versions')).body.items.map(
        (v: { version: number }) => v.version,
      ),
    ).toEqual([2, 1]);
    const diff = await call('GET', '/api/sbc-templates/sbc-add-prefix/diff?from=1&to=2');
    expect(diff.body.diff).toContain('+activate');
    expect(diff.body.diff).toMatch(/^--- sbc-add-prefix v1\n\+\+\+ sbc-add-prefix v2\n@@ /);
    const preview = await call('POST', '/api/sbc-templates/sbc-add-prefix/preview', {
      sbcId: 'ams1',
      siteId: 'adatum',
    });
    expect(preview.body.script).toContain('prefix "+3120777"');
    const ps = await call('GET', '/api/sbcs/ams1/sites/adatum/microsoft-script');
    expect(ps.body.script).toContain("New-CsOnlinePSTNGateway -Fqdn 'adatum.customers.provider.example'");
    expect((await call('POST', '/api/sbcs/ams1/sites/adatum/microsoft-done')).body.microsoftState).toBe(
      'done',
    );
  });

  it('imports rules no site has, listing same-name rules with different tags apart', async () => {
    const plan = sim.state.dialPlans.get('Customers')!;
    plan.rules.set(50, {
      index: 50,
      name: 'BradTrunk',
      prefix: '+4420',
      tag: 'brad.customers.provider.example',
    });
    plan.rules.set(51, {
      index: 51,
      name: 'BradTrunk',
      prefix: '+4421',
      tag: 'brad2.customers.provider.example',
    });
    const candidates = await call('GET', '/api/sbcs/ams1/import');
    expect(candidates.body.items).toEqual([
      {
        dialPlan: 'Customers',
        name: 'BradTrunk',
        tag: 'brad.customers.provider.example',
        prefixes: ['+4420'],
      },
      {
        dialPlan: 'Customers',
        name: 'BradTrunk',
        tag: 'brad2.customers.provider.example',
        prefixes: ['+4421'],
      },
    ]);
    const imported = await call('POST', '/api/sbcs/ams1/import', {
      rules: [
        {
          dialPlan: 'Customers',
          name: 'BradTrunk',
          tag: 'brad.customers.provider.example',
          customerId: 'brad',
          customerName: 'Brad Ltd',
          adminEmail: 'admin@brad.example.com',
          carrierId: 'Carrier',
        },
      ],
    });
    expect(imported.status).toBe(201);
    expect(imported.body.items[0]).toMatchObject({
      customerId: 'brad',
      sbcState: 'deployed',
      prefixes: [{ prefix: '+4420' }],
    });
    expect((await services.customers.get('brad')).name).toBe('Brad Ltd');
    const after = await call('GET', '/api/sbcs/ams1/import');
    expect(after.body.items.map((c: { tag: string }) => c.tag)).toEqual(['brad2.customers.provider.example']);
  });
});
