import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../../dev/email/eml';
import type { Host } from '../../../dev/host';
import { loadConfig } from '../../../shared/config';
import { createLog, type Log } from '../../../shared/log';
import { callbackIdFor } from '../../../shared/outbox';
import { createServices } from '../../../shared/services';
import { TEST_FUNCTION_KEY, startTestHost } from '../../helpers/host';
import { waitFor } from '../../helpers/wait';
import { admins, startTokenWorld, type TokenWorld } from './world';

/**
 * What a verification's result sets in motion, end to end: onboarding told, exactly one open
 * re-consent invitation however many runs follow, the provider and the ordering system told once,
 * nothing retried for a tenant that is gone; and the operators' routes.
 */
let world: TokenWorld;
const lines: string[] = [];
const log: Log = createLog({
  log: (l: string) => lines.push(l),
  warn: (l: string) => lines.push(l),
  error: (l: string) => lines.push(l),
});

beforeAll(async () => {
  // Callbacks are stored (the receiver is never reached in this file; stored is what is checked).
  world = await startTokenWorld({ ORDERS_CALLBACK_URL: 'https://127.0.0.1:9/callbacks' });
});

afterAll(async () => {
  await world?.stop();
});

const check = (id: string) => world.services.tokenChecks.check(id, { actor: 'token-health', log });
const providerMail = (customerName: string, subject: string) =>
  readOutbox(world.stack.outboxDir).filter(
    (m) =>
      m.to.includes('operations@provider.example') &&
      m.subject.includes(subject) &&
      m.subject.includes(customerName),
  );
const openInvitations = async (id: string) =>
  (await world.services.invitations.list({ customerId: id })).filter((i) =>
    ['sending', 'pending', 'opened'].includes(i.status),
  );

describe('token health: consequences', () => {
  it('a withdrawn consent: needs consent, one open re-consent invitation, provider and ordering system told once', async () => {
    const id = await world.consentedCustomer(admins.contoso);
    world.stack.m365.failTokenRequests({ failure: 65001, tenantId: admins.contoso.tenantId });
    try {
      for (let run = 0; run < 3; run++) {
        const result = await check(id);
        expect(result).toMatchObject({ outcome: 'verified', health: { status: 'needs_consent' } });
      }
      const customer = await world.services.customers.get(id);
      expect(customer.consentState).toBe('needs_consent');
      expect(await openInvitations(id)).toHaveLength(1);
      expect(providerMail(customer.name, 'Consent needed')).toHaveLength(1);
      const callback = await world.services.outbox.get(
        callbackIdFor(`${id.toLowerCase()}:${customer.consentedAt}:consent_needed`),
      );
      expect(callback).toMatchObject({ type: 'customer.consent_needed', data: { customerId: id } });
      expect(lines.filter((l) => l.includes('"token_verification_failed"') && l.includes(id))).toHaveLength(
        1,
      );

      // A week later the reminder: a new link, the old one revoked, still exactly one open.
      const first = (await openInvitations(id))[0]!.id;
      const weekLater = createServices(loadConfig(world.settings), {
        now: () => new Date(Date.now() + 8 * 86_400_000),
      });
      await weekLater.tokenChecks.check(id, { actor: 'token-health', log });
      await weekLater.tokenChecks.check(id, { actor: 'token-health', log });
      const open = await openInvitations(id);
      expect(open).toHaveLength(1);
      expect(open[0]!.id).not.toBe(first);
      expect(providerMail(customer.name, 'Consent needed')).toHaveLength(1);
    } finally {
      world.stack.m365.clearTokenFailures();
    }
  });

  it('a deleted tenant: access lost, told once, and the timer leaves it alone afterwards', async () => {
    const id = await world.consentedCustomer(admins.fabrikam);
    world.stack.m365.failTokenRequests({ failure: 5000224, tenantId: admins.fabrikam.tenantId });
    try {
      expect(await check(id)).toMatchObject({ outcome: 'verified', health: { status: 'gone' } });
      const customer = await world.services.customers.get(id);
      const callback = await world.services.outbox.get(
        callbackIdFor(`${id.toLowerCase()}:${customer.consentedAt}:access_lost`),
      );
      expect(callback).toMatchObject({ type: 'customer.access_lost' });
      const usesBefore = world.stack.m365.refreshTokenUses({ tenantId: admins.fabrikam.tenantId }).length;
      expect(await check(id)).toEqual({ outcome: 'skipped', reason: 'gone' });
      expect(world.stack.m365.refreshTokenUses({ tenantId: admins.fabrikam.tenantId })).toHaveLength(
        usesBefore,
      );
      expect(providerMail(customer.name, 'Access lost')).toHaveLength(1);
    } finally {
      world.stack.m365.clearTokenFailures();
    }
  });
});

describe('token health: Key Vault down', () => {
  it('changes no status and alerts once, however many customers it stops', async () => {
    const ids = [
      await world.consentedCustomer(admins.contoso),
      await world.consentedCustomer(admins.fabrikam),
    ];
    const before = await Promise.all(ids.map((id) => world.services.tokens.get(id)));
    const vaultDown = createServices(loadConfig({ ...world.settings, KEY_VAULT_URL: 'https://127.0.0.1:9' }));
    const alerts = lines.length;
    for (const id of [...ids, ...ids]) {
      await expect(
        vaultDown.tokenChecks.check(id, { actor: 'token-health', force: true, log }),
      ).rejects.toMatchObject({ status: 503, details: { dependency: 'keyVault' } });
    }
    expect(await Promise.all(ids.map((id) => world.services.tokens.get(id)))).toEqual(before);
    const raised = lines.slice(alerts).filter((l) => l.includes('"token_verification_failed"'));
    expect(raised).toHaveLength(1);
    expect(raised[0]).toContain('keyVault');
    // (No e-mail to the provider here: the local stack's e-mail key is itself in Key Vault. In Azure
    // the mailer signs in with the managed identity and sends it, once per hour of outage.)
  }, 60_000);
});

describe('token health: the operators\u2019 routes', () => {
  let host: Host;
  beforeAll(async () => {
    host = await startTestHost(world.settings);
  });
  afterAll(async () => {
    await host?.stop();
  });
  const call = async (method: string, path: string, accept = 'application/json') => {
    const res = await fetch(`${host.url}${path}`, {
      method,
      headers: { 'x-functions-key': TEST_FUNCTION_KEY, accept },
    });
    const text = await res.text();
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      text,
      body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {},
    };
  };

  it('verifies everyone in the background, shows the progress, and lists the Authentication Status as JSON and CSV', async () => {
    const id = await world.consentedCustomer(admins.northwind);
    const started = await call('POST', '/api/tokens/verify-all');
    expect(started.status).toBe(202);
    const job = await waitFor(async () => {
      const r = await call('GET', (started.body.links as { self: string }).self);
      return r.body.finished === true ? r.body : undefined;
    }, 30_000);
    expect(job).toMatchObject({
      kind: 'tokens.verify-all',
      total: started.body.sent,
      done: started.body.sent,
    });
    expect(started.body.sent).toBeGreaterThanOrEqual(1);

    const json = await call('GET', '/api/auth-status?status=healthy');
    const items = json.body.items as {
      customerId: string;
      status: string;
      method: string;
      expiresIfUnusedBy: string;
    }[];
    expect(items).toContainEqual(
      expect.objectContaining({ customerId: id, status: 'healthy', method: 'delegated-refresh-token' }),
    );
    const csv = await call('GET', '/api/auth-status', 'text/csv');
    expect(csv.type).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')[0]).toBe(
      'customerId,customerName,adminEmail,method,consentedBy,lastVerifiedAt,status,reason,expiresIfUnusedBy,grantedScopes',
    );
    expect(csv.text).toContain(`${id},`);
    expect((await call('GET', '/api/auth-status?status=nonsense')).status).toBe(400);
  });

  it('revokes: the token leaves Key Vault, the status says revoked, and it is audited', async () => {
    const id = await world.consentedCustomer(admins.northwind);
    const secretName = (await world.services.customers.get(id)).tokenSecretName!;
    expect(await world.services.secrets.get(secretName)).toBeDefined();
    const res = await call('DELETE', `/api/customers/${id}/token`);
    expect(res).toMatchObject({ status: 200, body: { revoked: true } });
    expect(await world.services.secrets.get(secretName)).toBeUndefined();
    expect(await world.services.tokens.get(id)).toMatchObject({ status: 'revoked' });
    expect((await world.services.customers.get(id)).consentState).toBe('none');
    const audit = await world.services.audit.list({ customerId: id });
    expect(audit.items.map((a) => a.action)).toContain('customer.token_revoked');
    expect((await call('DELETE', '/api/customers/no-such-customer/token')).status).toBe(404);
  });
});
