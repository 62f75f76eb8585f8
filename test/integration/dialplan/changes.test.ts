import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSbcSimulator, type SbcSimulator } from '../../../dev/sbc/server';
import { ensureDevCertificates } from '../../../dev/tls/certs';
import { loadConfig } from '../../../shared/config';
import { DependencyError } from '../../../shared/errors';
import { silentLog } from '../../../shared/log';
import { parseRunningConfig } from '../../../shared/sbc/running-config';
import { runningConfig } from '../../../dev/sbc/cli';
import { createServices, type Services } from '../../../shared/services';
import { testSettings } from '../../helpers/stack';

/**
 * The SBC worker against a simulated device and Azurite: what ends up on the device (not only the
 * script), concurrency on one SBC, an SBC down for an hour, a push whose record is lost.
 */
const SBC_PASSWORD = 'Sbc-Admin-Pa55';
const CARRIER_PASSWORD = 'Carrier#Secret9';
let sim: SbcSimulator;
let services: Services;
let offsetMs = 0;
const advance = (seconds: number) => {
  offsetMs += seconds * 1000;
};

const device = () => parseRunningConfig(runningConfig(sim.state));
const rules = (plan = 'Customers') =>
  (device().dialPlans.get(plan) ?? []).map((r) => `${r.name} ${r.prefix}`).sort();
const apply = (owner = `msg:${Math.random()}`) => services.dialplan.apply('sbc1', owner, silentLog);

async function customer(id: string) {
  await services.customers.create({ id, name: id, adminEmail: `admin@${id}.example.com` }, 'test');
}

beforeAll(async () => {
  const { cert, key } = await ensureDevCertificates();
  sim = await startSbcSimulator({ tls: { cert, key }, username: 'Admin', password: SBC_PASSWORD });
  sim.addDialPlan('Customers');
  const settings = testSettings({ SBC_QUIET_SECONDS: '0', SBC_REQUEST_TIMEOUT_MS: '3000' });
  process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER;
  services = createServices(loadConfig(settings), { now: () => new Date(Date.now() + offsetMs) });
  await services.dialplan.sbcs.add(
    {
      id: 'sbc1',
      name: 'Amsterdam 1',
      fqdn: '127.0.0.1',
      port: Number(new URL(sim.url).port),
      adminUser: 'Admin',
      adminPassword: SBC_PASSWORD,
    },
    'test',
  );
  for (const id of ['contoso', 'fabrikam', 'northwind', 'tailspin', 'litware']) await customer(id);
});

afterAll(async () => {
  await sim?.stop();
});

describe('a site through its life on the device', () => {
  it('deploys, adds and removes prefixes, and cleans up: the device state follows', async () => {
    const { site, change } = await services.dialplan.sites.create(
      'sbc1',
      {
        customerId: 'contoso',
        configuration: 'sip-trunk',
        dialPlan: 'Customers',
        carrierId: 'Carrier',
        cacProfile: 'Gold',
        carrier: {
          userName: 'contoso-sip',
          password: CARRIER_PASSWORD,
          hostName: 'sip.carrier.example',
          mainLine: '+3120555000',
        },
        prefixes: ['+3120555', { prefix: '+31205[10-19]', tag: 'Tenant=contoso' }],
      },
      'test',
    );
    expect(site).toMatchObject({ sbcState: 'pending', trunkFqdn: 'contoso.customers.provider.example' });
    expect(change.status).toBe('queued');
    expect(await apply()).toMatchObject({ outcome: 'drained', pushes: 1 });

    const d = device();
    expect([...d.ipGroups]).toEqual(['contoso-c', 'contoso-t']);
    expect([...d.sipAccounts]).toEqual(['contoso']);
    expect(d.dialPlans.get('Customers')).toEqual([
      { index: 0, name: 'contoso', prefix: '+3120555', tag: 'contoso.customers.provider.example' },
      { index: 1, name: 'contoso', prefix: '+31205[10-19]', tag: 'Tenant=contoso' },
    ]);
    const ipGroup = sim.state.ipGroups.find((g) => g.fields.get('name') === 'contoso-t');
    expect(ipGroup?.fields.get('cac-profile')).toBe('Gold');
    expect(sim.state.sipAccounts[0]?.fields.get('password')).toBe(CARRIER_PASSWORD);
    expect(sim.state.saveNeeded).toBe(false);
    expect(await services.dialplan.sites.get('sbc1', 'contoso')).toMatchObject({ sbcState: 'deployed' });
    expect(await services.dialplan.changes.get('sbc1', change.id)).toMatchObject({
      status: 'applied',
      attempts: 1,
    });

    await services.dialplan.sites.changePrefixes(
      'sbc1',
      'contoso',
      { add: ['+3130', '+3140'], remove: ['+3120555'] },
      'test',
    );
    expect(await apply()).toMatchObject({ pushes: 1 });
    expect(rules()).toEqual(['contoso +31205[10-19]', 'contoso +3130', 'contoso +3140']);
    // The device gave the new rules the lowest free indexes.
    expect(
      device()
        .dialPlans.get('Customers')
        ?.map((r) => r.index),
    ).toEqual([0, 1, 2]);

    await services.dialplan.sites.remove('sbc1', 'contoso', 'test');
    expect(await apply()).toMatchObject({ pushes: 1 });
    expect(device()).toMatchObject({ ipGroups: new Set(), sipAccounts: new Set() });
    expect(rules()).toEqual([]);
    expect(await services.dialplan.sites.get('sbc1', 'contoso')).toMatchObject({ sbcState: 'removed' });
  });

  it('keeps passwords in Key Vault only: not in tables, views, the audit log or the stored error', async () => {
    const rows: unknown[] = [];
    for (const table of ['sbcs', 'sbcsites', 'sbcchanges', 'audit']) {
      for await (const e of services.storage.table(table).listEntities()) rows.push(e);
    }
    const text = JSON.stringify(rows) + JSON.stringify(await services.dialplan.sbcs.list());
    expect(rows.length).toBeGreaterThan(5);
    expect(text).not.toContain(SBC_PASSWORD);
    expect(text).not.toContain(CARRIER_PASSWORD);
    const row = await services.dialplan.repos.sbcs.get('sbc', 'sbc1');
    expect(await services.secrets.get(row!.value.passwordSecret)).toBe(SBC_PASSWORD);
    const view = await services.dialplan.sbcs.get('sbc1');
    expect(view.status).toMatchObject({ reachable: true, operationalState: 'UNLOCKED' });
  });
});

describe('concurrent changes to one SBC', () => {
  it('lose nothing and never interleave', async () => {
    await services.dialplan.sites.create(
      'sbc1',
      { customerId: 'fabrikam', configuration: 'byoc', dialPlan: 'Customers', carrierId: 'Carrier' },
      'test',
    );
    await services.dialplan.sites.create(
      'sbc1',
      { customerId: 'northwind', configuration: 'ip-pbx', dialPlan: 'Customers', carrierId: 'Carrier' },
      'test',
    );
    sim.state.delayMs = 40;
    const uploadsBefore = sim.state.uploads.length;
    const expected: string[] = [];
    const posts = Array.from({ length: 30 }, (_, i) => {
      const who = i % 2 ? 'fabrikam' : 'northwind';
      expected.push(`${who} +4930${i}`);
      return services.dialplan.sites.changePrefixes('sbc1', who, { add: [`+4930${i}`] }, 'test');
    });
    // Workers start while the changes still arrive, as queue messages would.
    const workers = Array.from({ length: 5 }, (_, i) =>
      new Promise((r) => setTimeout(r, i * 60)).then(() => apply(`msg:w${i}`)),
    );
    await Promise.all([...posts, ...workers]);
    await apply('msg:last');
    sim.state.delayMs = 0;

    expect(sim.state.maxUploadsInFlight).toBe(1);
    expect(rules()).toEqual(expected.sort());
    const pushes = sim.state.uploads.length - uploadsBefore;
    expect(pushes).toBeLessThan(32);
    expect(pushes).toBeGreaterThanOrEqual(1);
    const open = await services.dialplan.changes.list({ sbcId: 'sbc1', status: 'queued' });
    expect(open.items).toEqual([]);
  });
});

describe('an SBC that is down', () => {
  it('keeps a change for an hour of simulated time and lands it when the device returns', async () => {
    sim.state.unreachable = true;
    const { changes } = await services.dialplan.sites.changePrefixes(
      'sbc1',
      'fabrikam',
      { add: ['+3350'] },
      'test',
    );
    const id = changes[0]!.id;
    expect(await apply()).toMatchObject({ pushes: 0 });
    expect(await services.dialplan.changes.get('sbc1', id)).toMatchObject({
      status: 'retrying',
      attempts: 1,
    });
    for (let minute = 5; minute <= 60; minute += 5) {
      advance(300);
      await services.jobs.due.sweep(silentLog);
      await apply();
      const c = await services.dialplan.changes.get('sbc1', id);
      expect(c.status, `minute ${minute}`).toBe('retrying');
      expect(c.error).toMatch(/did not answer|running configuration/);
    }
    const attempts = (await services.dialplan.changes.get('sbc1', id)).attempts;
    expect(attempts).toBeGreaterThan(4);
    expect(attempts).toBeLessThan(20);

    sim.state.unreachable = false;
    advance(900);
    const swept = await services.jobs.due.sweep(silentLog);
    expect(swept.requeued['dialplan.change']).toBeGreaterThanOrEqual(1);
    expect(await apply()).toMatchObject({ pushes: 1 });
    expect(await services.dialplan.changes.get('sbc1', id)).toMatchObject({ status: 'applied' });
    expect(rules().filter((r) => r.endsWith('+3350'))).toEqual(['fabrikam +3350']);
  });

  it('retries a busy device (409) and parks nothing while attempts remain', async () => {
    sim.state.busy = true;
    const { changes } = await services.dialplan.sites.changePrefixes(
      'sbc1',
      'fabrikam',
      { add: ['+3351'] },
      'test',
    );
    await apply();
    expect(await services.dialplan.changes.get('sbc1', changes[0]!.id)).toMatchObject({
      status: 'retrying',
      error: expect.stringMatching(/busy/),
    });
    sim.state.busy = false;
    advance(3600);
    await services.jobs.due.sweep(silentLog);
    await apply();
    expect(await services.dialplan.changes.get('sbc1', changes[0]!.id)).toMatchObject({ status: 'applied' });
  });
});

describe('a push whose record is lost', () => {
  it('happens once: the retry finds it applied on the device', async () => {
    const { changes } = await services.dialplan.sites.changePrefixes(
      'sbc1',
      'northwind',
      { add: ['+3360', '+3361'] },
      'test',
    );
    const uploads = sim.state.uploads.length;
    // Storage fails right after the device took the script, before the outcome is recorded.
    const repo = services.dialplan.repos.changes;
    const original = repo.transaction.bind(repo);
    let failed = false;
    repo.transaction = async (steps) => {
      if (!failed && sim.state.uploads.length > uploads) {
        failed = true;
        throw new DependencyError('storage', 'table sbcchanges: connection reset');
      }
      return original(steps);
    };
    try {
      await expect(apply('msg:lost')).rejects.toThrow(/storage/);
    } finally {
      repo.transaction = original;
    }
    expect(failed).toBe(true);
    expect(await services.dialplan.changes.get('sbc1', changes[0]!.id)).toMatchObject({ status: 'pushing' });
    // The queue delivers the same message again.
    expect(await apply('msg:lost')).toMatchObject({ outcome: 'drained', pushes: 0 });
    expect(sim.state.uploads.length).toBe(uploads + 1);
    expect(await services.dialplan.changes.get('sbc1', changes[0]!.id)).toMatchObject({ status: 'applied' });
    expect(rules().filter((r) => r.includes('+336'))).toEqual(['northwind +3360', 'northwind +3361']);
  });
});

describe('a refused script', () => {
  it('says exactly which part applied, parks as failed, and lands when re-queued after the fix', async () => {
    const { change } = await services.dialplan.sites.create(
      'sbc1',
      {
        customerId: 'tailspin',
        configuration: 'sip-trunk',
        dialPlan: 'Missing',
        carrierId: 'Carrier',
        prefixes: ['+3370'],
      },
      'test',
    );
    expect(await apply()).toMatchObject({ pushes: 1 });
    const failed = await services.dialplan.changes.get('sbc1', change.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/refused the script: Error: No dial-plan where name is "Missing"/);
    expect(failed.error).toMatch(
      /Applied: ip-group tailspin-c, ip-group tailspin-t\. Not applied: rule tailspin \+3370/,
    );
    expect(failed.effects).toEqual([
      { what: 'ip-group tailspin-c', present: true },
      { what: 'ip-group tailspin-t', present: true },
      { what: 'rule tailspin +3370', present: false },
    ]);
    expect((await services.dialplan.changes.list({ status: 'failed' })).items.map((c) => c.id)).toContain(
      change.id,
    );
    expect(await services.dialplan.sites.get('sbc1', 'tailspin')).toMatchObject({ sbcState: 'failed' });

    sim.addDialPlan('Missing');
    await services.dialplan.changes.retry('sbc1', change.id, 'operator');
    expect(await apply()).toMatchObject({ pushes: 1 });
    expect(await services.dialplan.changes.get('sbc1', change.id)).toMatchObject({ status: 'applied' });
    expect(rules('Missing')).toEqual(['tailspin +3370']);
    expect(await services.dialplan.sites.get('sbc1', 'tailspin')).toMatchObject({ sbcState: 'deployed' });
  });
});

describe('a cancelled customer', () => {
  it('takes the cleanup orders recorded and removes the sites from the device', async () => {
    await services.dialplan.sites.create(
      'sbc1',
      {
        customerId: 'litware',
        configuration: 'sip-trunk',
        dialPlan: 'Customers',
        carrierId: 'Carrier',
        prefixes: ['+3380'],
      },
      'test',
    );
    await apply();
    expect(rules().filter((r) => r.startsWith('litware'))).toEqual(['litware +3380']);
    await services.orders.cleanups.request('sbc', 'litware', 'evt-cancel-1');
    expect(await services.dialplan.consumeCleanups(silentLog)).toEqual({ customers: 1, sites: 1 });
    expect((await services.orders.cleanups.list('sbc')).items).toEqual([]);
    await apply();
    expect(rules().filter((r) => r.startsWith('litware'))).toEqual([]);
    expect(device().ipGroups.has('litware-c')).toBe(false);
    expect(await services.dialplan.sites.get('sbc1', 'litware')).toMatchObject({ sbcState: 'removed' });
  });
});
