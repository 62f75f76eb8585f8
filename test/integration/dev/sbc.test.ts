import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSbcSimulator, type SbcSimulator } from '../../../dev/sbc/server';
import { ensureDevCertificates } from '../../../dev/tls/certs';

let sbc: SbcSimulator;
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  const { cert, key } = await ensureDevCertificates();
  sbc = await startSbcSimulator({ tls: { cert, key }, username: 'Admin', password: 's3cret:with-colon' });
});

afterAll(async () => {
  await sbc?.stop();
});

describe('AudioCodes SBC simulator', () => {
  it('reports its status with the documented fields to the right credentials', async () => {
    const res = await fetch(`${sbc.url}/api/v1/status`, {
      headers: { Authorization: basic('Admin', 's3cret:with-colon') },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const status = (await res.json()) as Record<string, unknown>;
    expect(status).toMatchObject({
      productType: 'Mediant VE SBC',
      protocolType: 'SIP',
      operationalState: 'UNLOCKED',
      highAvailability: 'Not Operational',
      saveNeeded: false,
      resetNeeded: false,
      upgradeStatus: 'None',
      ipAddress: '127.0.0.1',
    });
    expect(status.versionID).toMatch(/^7\.40A\.\d+\.\d+$/);
    expect(status.macAddress).toMatch(/^[0-9a-f]{12}$/);
    expect(status.serialNumber).toMatch(/^\d+$/);
    expect(Number.isInteger(status.systemUpTime)).toBe(true);
    expect(Date.parse(String(status.localTimeStamp))).toBeGreaterThan(Date.now() - 60_000);
  });

  it('counts systemUpTime in seconds since start and reflects the state', async () => {
    sbc.state.startedAt -= 90_000;
    sbc.state.saveNeeded = true;
    try {
      const res = await fetch(`${sbc.url}/api/v1/status`, {
        headers: { Authorization: basic('Admin', 's3cret:with-colon') },
      });
      const status = (await res.json()) as { systemUpTime: number; saveNeeded: boolean };
      expect(status.systemUpTime).toBeGreaterThanOrEqual(90);
      expect(status.systemUpTime).toBeLessThan(100);
      expect(status.saveNeeded).toBe(true);
    } finally {
      sbc.state.startedAt += 90_000;
      sbc.state.saveNeeded = false;
    }
  });

  it('answers 401 with a Basic challenge to wrong or missing credentials', async () => {
    for (const headers of [
      { Authorization: basic('Admin', 'wrong') },
      { Authorization: basic('admin', 's3cret:with-colon') },
      { Authorization: 'Bearer abc' },
      {} as Record<string, string>,
    ]) {
      const res = await fetch(`${sbc.url}/api/v1/status`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    }
  });

  it('answers 404 for an unknown resource and 405 for an unsupported method', async () => {
    const auth = { Authorization: basic('Admin', 's3cret:with-colon') };
    expect((await fetch(`${sbc.url}/api/v1/nothing`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${sbc.url}/api/v1/status`, { method: 'POST', headers: auth })).status).toBe(405);
  });

  const auth = () => ({ Authorization: basic('Admin', 's3cret:with-colon') });
  const upload = (script: string) => {
    const form = new FormData();
    form.append('file', new Blob([script], { type: 'application/octet-stream' }), 'cli.txt');
    return fetch(`${sbc.url}/api/v1/files/cliScript/incremental`, {
      method: 'PUT',
      headers: auth(),
      body: form,
    });
  };

  it('applies an incremental CLI script to its dial plans and prints them in its running configuration', async () => {
    sbc.addDialPlan('Teams');
    const res = await upload(
      [
        'configure voip',
        'sbc dial-plan where name "Teams"',
        'dial-plan-rule new',
        'name "acme"',
        'prefix "+3120[100-199]"',
        'tag "acme.customers.example"',
        'exit',
        'dial-plan-rule new',
        'name "acme"',
        'prefix "+3130"',
        'tag "acme.customers.example"',
        'exit',
        'no dial-plan-rule "0"',
        'activate',
        'exit',
        'exit',
        'do write',
      ].join('\n'),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'success',
      output: expect.stringContaining('dial-plan-rule new'),
    });
    expect([...sbc.state.dialPlans.get('Teams')!.rules.values()]).toEqual([
      { index: 1, name: 'acme', prefix: '+3130', tag: 'acme.customers.example' },
    ]);
    expect(sbc.state.saveNeeded).toBe(false);
    const config = await fetch(`${sbc.url}/api/v1/files/cliScript`, { headers: auth() });
    expect(config.status).toBe(200);
    expect(await config.text()).toContain(' sbc dial-plan-rule 0/1\n  name "acme"\n  prefix "+3130"\n');
  });

  it('refuses a bad line with 400 and the transcript, keeping what the lines before it changed', async () => {
    const res = await upload(
      ['configure voip', 'ip-group new', 'name "half-c"', 'exit', 'sbc dial-plan where name "Nope"'].join(
        '\n',
      ),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { status: string; output: string };
    expect(body.status).toBe('failure');
    expect(body.output).toMatch(/Error: No dial-plan where name is "Nope" \(line 5\)$/);
    expect(sbc.state.ipGroups.map((g) => g.fields.get('name'))).toContain('half-c');
    expect(sbc.state.saveNeeded).toBe(true);
  });

  it('answers 409 while busy, and nothing while unreachable', async () => {
    sbc.state.busy = true;
    expect((await upload('configure voip\nexit')).status).toBe(409);
    sbc.state.busy = false;
    sbc.state.unreachable = true;
    await expect(fetch(`${sbc.url}/api/v1/status`, { headers: auth() })).rejects.toThrow();
    sbc.state.unreachable = false;
    expect((await fetch(`${sbc.url}/api/v1/status`, { headers: auth() })).status).toBe(200);
  });
});
