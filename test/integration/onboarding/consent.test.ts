import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../../dev/email/eml';
import { driveSignIn } from '../../../dev/m365/driver';
import { defaultClientSecret, seedIds } from '../../../dev/m365/seed';
import { refreshTokenSecretName } from '../../../shared/onboarding/consent-secret';
import { TENANT_PARTITION } from '../../../shared/onboarding/repositories';
import { callbackIdFor } from '../../../shared/outbox';
import { Browser, invitedCustomer, signIn, startWorld, type Page, type World } from './world';

/**
 * The customer admin's consent, end to end over HTTP against the real simulators and Azurite:
 * what is stored when it works, and that every refusal stores nothing.
 */
let world: World;

beforeAll(async () => {
  // A callback address that takes nothing: the callback is queued (and retried), which is what is checked.
  world = await startWorld({ ORDERS_CALLBACK_URL: 'https://127.0.0.1:9/ordering-system/callbacks' });
});

afterAll(async () => {
  await world?.stop();
});

const { contoso, fabrikam, northwind } = seedIds;
const guestInFabrikam = 'alex_contoso.com#EXT#@fabrikam.onmicrosoft.com';

const storedCustomer = (id: string) => world.services.customers.get(id);
const storedSecret = (id: string, tenantId: string) =>
  world.services.secrets.get(refreshTokenSecretName(id, tenantId));
const tenantOwner = async (tenantId: string) =>
  (await world.services.onboarding.tenants.get(TENANT_PARTITION, tenantId))?.value.customerId;

/** Refused: no secret, customer untouched, tenant not claimed by it, invitation still usable (or not). */
async function expectNothingStored(
  c: { id: string; token: string },
  options: { tenantIds: string[]; invitationUsable: boolean; tenantIdBefore?: string },
): Promise<void> {
  const customer = await storedCustomer(c.id);
  expect(customer.consentState).toBe('invited');
  expect(customer.tenantId).toBe(options.tenantIdBefore);
  expect(customer.tokenSecretName).toBeUndefined();
  expect(customer.consentedBy).toBeUndefined();
  for (const t of options.tenantIds) {
    expect(await storedSecret(c.id, t)).toBeUndefined();
    expect(await tenantOwner(t)).not.toBe(c.id);
  }
  const again = await new Browser().get(`${world.base}/authenticate/${c.token}`);
  expect(again.status).toBe(options.invitationUsable ? 200 : 410);
}

function expectSecurityHeaders(page: Page): void {
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("base-uri 'none'");
  expect(csp).toContain(`form-action 'self' ${world.stack.m365.url}`);
  expect(csp).not.toContain('script-src');
  expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  expect(page.headers.get('x-frame-options')).toBe('DENY');
  expect(page.headers.get('cache-control')).toBe('no-store');
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
}

const retryLink = (token: string) => `href="/authenticate/${token}"`;

describe('a Global Administrator consents', () => {
  let customer: { id: string; token: string; invitationId: string };
  let callbackUrl: string;
  let result: Page;

  beforeAll(async () => {
    customer = await invitedCustomer(world, { name: 'Contoso Ltd', tenantId: contoso.tenantId });
    const walk = await signIn(world, new Browser(), customer.token, {
      account: 'patti@contoso.com',
      consentForOrganization: true,
    });
    callbackUrl = walk.callbackUrl;
    result = walk.result;
  });

  it('shows the thank-you page', () => {
    expect(result.status).toBe(200);
    expect(result.html).toContain('Thank you!');
    expect(result.html).toContain('You may close this window');
    expect(result.html).toContain('patti@contoso.com');
    expectSecurityHeaders(result);
  });

  it('queues a signed customer.consented callback for the ordering system', async () => {
    const callback = await world.services.outbox.get(
      callbackIdFor(`${customer.invitationId}:customer.consented`),
    );
    expect(callback).toMatchObject({
      type: 'customer.consented',
      customerId: customer.id,
      data: { customerId: customer.id, tenantId: contoso.tenantId, consentedBy: 'patti@contoso.com' },
    });
  });

  it('records the consent on the customer', async () => {
    const c = await storedCustomer(customer.id);
    expect(c).toMatchObject({
      consentState: 'consented',
      tenantId: contoso.tenantId,
      consentedBy: 'patti@contoso.com',
      consentedByObjectId: contoso.admin,
      tokenSecretName: refreshTokenSecretName(customer.id, contoso.tenantId),
    });
    const days = (Date.parse(c.tokenExpiresAt ?? '') - Date.parse(c.consentedAt ?? '')) / 86_400_000;
    expect(days).toBe(90);
    expect(await tenantOwner(contoso.tenantId)).toBe(customer.id);
  });

  it('keeps a working refresh token in Key Vault, and nowhere else', async () => {
    const token = await storedSecret(customer.id, contoso.tenantId);
    expect(token).toBeTruthy();
    const res = await fetch(`${world.stack.m365.url}/organizations/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: seedIds.app,
        client_secret: defaultClientSecret,
        refresh_token: token ?? '',
        scope: 'https://graph.microsoft.com/User.Read.All offline_access',
      }),
    });
    expect(res.status).toBe(200);

    const everywhere: string[] = [JSON.stringify(world.logs)];
    const prefix = world.settings.STORAGE_NAME_PREFIX ?? '';
    for await (const t of world.services.storage.tableService().listTables()) {
      if (!t.name?.startsWith(prefix)) continue;
      const client = TableClient.fromConnectionString(world.settings.AzureWebJobsStorage ?? '', t.name);
      for await (const row of client.listEntities()) everywhere.push(JSON.stringify(row));
    }
    for (const m of readOutbox(world.stack.outboxDir)) everywhere.push(m.text ?? '', m.html ?? '');
    const code = new URL(callbackUrl).searchParams.get('code') ?? '';
    const state = new URL(callbackUrl).searchParams.get('state') ?? '';
    for (const text of everywhere) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(code);
      expect(text).not.toContain(state);
    }
  });

  it('uses up the invitation, audits the consent and tells the provider', async () => {
    const [invitation] = await world.services.invitations.list({ customerId: customer.id });
    expect(invitation).toMatchObject({ status: 'completed', completedBy: 'patti@contoso.com' });
    const audit = await world.services.audit.list({ customerId: customer.id });
    expect(audit.items[0]).toMatchObject({
      actor: 'customer-admin:patti@contoso.com',
      action: 'customer.consented',
      details: { tenantId: contoso.tenantId, roles: ['Global Administrator'] },
    });
    const notice = readOutbox(world.stack.outboxDir).find((m) =>
      m.to.includes('operations@provider.example'),
    );
    expect(notice?.subject).toBe('Customer connected: Contoso Ltd');
    expect(notice?.text).toContain(contoso.tenantId);
  });

  it('refuses the same return from Microsoft a second time', async () => {
    const replay = await new Browser().get(callbackUrl);
    expect(replay.status).toBe(400);
    expect(replay.html).toContain('This sign-in can’t be completed');
    expectSecurityHeaders(replay);
  });

  it('answers 410 for the used invitation', async () => {
    const page = await new Browser().get(`${world.base}/authenticate/${customer.token}`);
    expect(page.status).toBe(410);
    expect(page.html).toContain('This invitation has already been used.');
    const start = await new Browser().post(`${world.base}/authenticate/${customer.token}/start`);
    expect(start.status).toBe(410);
  });
});

describe('refusals store nothing', () => {
  it('a tenant that already belongs to another customer', async () => {
    const c = await invitedCustomer(world);
    const { result } = await signIn(world, new Browser(), c.token, { account: 'patti@contoso.com' });
    expect(result.status).toBe(409);
    expect(result.html).toContain('This organization is already connected');
    expect(result.html).not.toContain(retryLink(c.token));
    await expectNothingStored(c, { tenantIds: [contoso.tenantId], invitationUsable: true });
  });

  it('a user without an accepted admin role', async () => {
    world.stack.m365.grantAdminConsent(fabrikam.tenantId);
    const c = await invitedCustomer(world, { tenantId: fabrikam.tenantId });
    const { result } = await signIn(world, new Browser(), c.token, { account: 'johanna@fabrikam.com' });
    expect(result.status).toBe(403);
    expect(result.html).toContain('This account isn’t an administrator');
    expect(result.html).toContain('Teams Communications Administrator');
    expect(result.html).toContain(retryLink(c.token));
    await expectNothingStored(c, {
      tenantIds: [fabrikam.tenantId],
      invitationUsable: true,
      tenantIdBefore: fabrikam.tenantId,
    });
  });

  it('a guest account, even in the right tenant', async () => {
    const c = await invitedCustomer(world, { tenantId: fabrikam.tenantId });
    const { result } = await signIn(world, new Browser(), c.token, { account: guestInFabrikam });
    expect(result.status).toBe(403);
    expect(result.html).toContain('Guest accounts can’t be used');
    await expectNothingStored(c, {
      tenantIds: [fabrikam.tenantId],
      invitationUsable: true,
      tenantIdBefore: fabrikam.tenantId,
    });
  });

  it('an admin of a different tenant than the customer’s tenant id', async () => {
    const c = await invitedCustomer(world, { tenantId: fabrikam.tenantId });
    const { result } = await signIn(world, new Browser(), c.token, { account: 'patti@contoso.com' });
    expect(result.status).toBe(403);
    expect(result.html).toContain('This is a different organization');
    expect(result.html).toContain('You signed in to Contoso');
    await expectNothingStored(c, {
      tenantIds: [contoso.tenantId, fabrikam.tenantId],
      invitationUsable: true,
      tenantIdBefore: fabrikam.tenantId,
    });
  });

  it('an admin of a tenant that has not verified the customer’s domain', async () => {
    const c = await invitedCustomer(world, { tenantDomain: 'fabrikam.com' });
    const { result } = await signIn(world, new Browser(), c.token, { account: 'patti@contoso.com' });
    expect(result.status).toBe(403);
    await expectNothingStored(c, { tenantIds: [contoso.tenantId], invitationUsable: true });
  });

  it('a cancelled consent, with a way back to the invitation', async () => {
    const c = await invitedCustomer(world, { tenantId: northwind.tenantId });
    const { result, callbackUrl } = await signIn(world, new Browser(), c.token, {
      account: 'nestor@northwindtraders.com',
      consent: 'cancel',
    });
    expect(new URL(callbackUrl).searchParams.get('error')).toBe('access_denied');
    expect(result.status).toBe(200);
    expect(result.html).toContain('Nothing was changed');
    expect(result.html).toContain(retryLink(c.token));
    await expectNothingStored(c, {
      tenantIds: [northwind.tenantId],
      invitationUsable: true,
      tenantIdBefore: northwind.tenantId,
    });
  });

  it('an expired sign-in state', async () => {
    const c = await invitedCustomer(world, { tenantId: northwind.tenantId });
    const browser = new Browser();
    await browser.get(`${world.base}/authenticate/${c.token}`);
    const start = await browser.post(`${world.base}/authenticate/${c.token}/start`);
    const states = TableClient.fromConnectionString(
      world.settings.AzureWebJobsStorage ?? '',
      `${world.settings.STORAGE_NAME_PREFIX}loginstates`,
    );
    for await (const row of states.listEntities<{ customerId: string }>()) {
      if (row.customerId !== c.id) continue;
      await states.updateEntity(
        {
          partitionKey: row.partitionKey!,
          rowKey: row.rowKey!,
          expiresAt: new Date(Date.now() - 1000).toISOString(),
        },
        'Merge',
      );
    }
    const walk = await driveSignIn(start.headers.get('location') ?? '', {
      account: 'nestor@northwindtraders.com',
      consentForOrganization: true,
    });
    const result = await browser.get(walk.location ?? '');
    expect(result.status).toBe(400);
    expect(result.html).toContain('The sign-in took too long');
    expect(result.html).toContain(retryLink(c.token));
    await expectNothingStored(c, {
      tenantIds: [northwind.tenantId],
      invitationUsable: true,
      tenantIdBefore: northwind.tenantId,
    });
  });

  it('a sign-in finished in another browser than the one that started it', async () => {
    const c = await invitedCustomer(world, { tenantId: northwind.tenantId });
    const started = new Browser();
    const start = await started.post(`${world.base}/authenticate/${c.token}/start`);
    expect(start.headers.getSetCookie()[0]).toMatch(
      /^__Host-switchboard-login=.+; max-age=\d+; path=\/; secure; samesite=lax; httponly$/,
    );
    const walk = await driveSignIn(start.headers.get('location') ?? '', {
      account: 'nestor@northwindtraders.com',
      consentForOrganization: true,
    });
    const result = await new Browser().get(walk.location ?? '');
    expect(result.status).toBe(400);
    expect(result.html).toContain('Please finish in the same browser');
    await expectNothingStored(c, {
      tenantIds: [northwind.tenantId],
      invitationUsable: true,
      tenantIdBefore: northwind.tenantId,
    });
  });

  it('a disabled account', async () => {
    const c = await invitedCustomer(world, { tenantId: northwind.tenantId });
    world.stack.m365.setUserEnabled(northwind.tenantId, northwind.admin, false);
    try {
      const { result } = await signIn(world, new Browser(), c.token, {
        account: 'nestor@northwindtraders.com',
        consentForOrganization: true,
      });
      expect(result.status).toBe(403);
      expect(result.html).toContain('This account can’t be used');
    } finally {
      world.stack.m365.setUserEnabled(northwind.tenantId, northwind.admin, true);
    }
    await expectNothingStored(c, {
      tenantIds: [northwind.tenantId],
      invitationUsable: true,
      tenantIdBefore: northwind.tenantId,
    });
  });

  it('a code that expired at Microsoft before it was redeemed', async () => {
    const c = await invitedCustomer(world, { tenantId: northwind.tenantId });
    const browser = new Browser();
    const start = await browser.post(`${world.base}/authenticate/${c.token}/start`);
    const walk = await driveSignIn(start.headers.get('location') ?? '', {
      account: 'nestor@northwindtraders.com',
      consentForOrganization: true,
    });
    world.stack.m365.advanceClock(11 * 60);
    let result: Page;
    try {
      result = await browser.get(walk.location ?? '');
    } finally {
      world.stack.m365.advanceClock(-11 * 60);
    }
    expect(result.status).toBe(400);
    expect(result.html).toContain('The sign-in didn’t complete');
    expect(result.html).toContain(retryLink(c.token));
    await expectNothingStored(c, {
      tenantIds: [northwind.tenantId],
      invitationUsable: true,
      tenantIdBefore: northwind.tenantId,
    });
  });

  it('a state that was never issued', async () => {
    const page = await new Browser().get(
      `${world.base}/authenticate/OAuth2Callback?code=abc&state=${'A'.repeat(43)}`,
    );
    expect(page.status).toBe(400);
    expect(page.html).toContain('This sign-in can’t be completed');
  });

  it('an expired invitation', async () => {
    const c = await invitedCustomer(world);
    for await (const row of world.services.onboarding.invitations.listAll({ partitionKey: 'invitation' })) {
      if (row.value.customerId !== c.id) continue;
      await world.services.onboarding.invitations.update(
        { ...row.value, expiresAt: new Date(Date.now() - 1000).toISOString() },
        row.etag,
      );
    }
    const page = await new Browser().get(`${world.base}/authenticate/${c.token}`);
    expect(page.status).toBe(410);
    expect(page.html).toContain('This invitation has expired.');
    expectSecurityHeaders(page);
    const start = await new Browser().post(`${world.base}/authenticate/${c.token}/start`);
    expect(start.status).toBe(410);
    expect(start.headers.get('location')).toBeNull();
  });

  it('an unknown invitation', async () => {
    const page = await new Browser().get(`${world.base}/authenticate/${'x'.repeat(43)}`);
    expect(page.status).toBe(404);
    expect(page.html).toContain('We can’t find this invitation');
    expect(page.html).not.toMatch(/at \w+ \(|Error:/);
  });
});

describe('the invitation page', () => {
  it('escapes a customer name that carries HTML', async () => {
    const name = '<script>alert(1)</script><img src=x onerror=alert(2)> & "Co"';
    const c = await invitedCustomer(world, { name });
    const page = await new Browser().get(`${world.base}/authenticate/${c.token}`);
    expect(page.status).toBe(200);
    expect(page.html).not.toContain('<script>');
    expect(page.html).not.toContain('<img');
    expect(page.html).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; &amp; &quot;Co&quot;',
    );
    expectSecurityHeaders(page);
  });

  it('says who asks, what for, which role and which permissions, and starts with a form POST', async () => {
    const c = await invitedCustomer(world, { name: 'Northwind Traders' });
    const page = await new Browser().get(`${world.base}/authenticate/${c.token}`);
    expect(page.html).toContain('Connect Northwind Traders to Switchboard Demo Provider');
    expect(page.html).toContain('We will never see your password.');
    expect(page.html).toContain('Global Administrator');
    expect(page.html).toContain('See your groups and who belongs to them');
    expect(page.html).toContain(
      `<form class="actions" method="post" action="/authenticate/${c.token}/start">`,
    );
  });

  it('serves its stylesheet to anyone', async () => {
    const page = await new Browser().get(`${world.base}/authenticate/assets/site.css`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/css');
    expect(page.html).toContain('.card');
  });
});

describe('accepted roles', () => {
  it('a Teams Communications Administrator can connect once a Global Administrator approved the app', async () => {
    world.stack.m365.grantAdminConsent(northwind.tenantId);
    const c = await invitedCustomer(world, { tenantDomain: 'northwindtraders.com' });
    const { result } = await signIn(world, new Browser(), c.token, {
      account: 'pradeep@northwindtraders.com',
    });
    expect(result.status).toBe(200);
    const stored = await storedCustomer(c.id);
    expect(stored).toMatchObject({ consentState: 'consented', tenantId: northwind.tenantId });
    expect(await storedSecret(c.id, northwind.tenantId)).toBeTruthy();
  });
});

describe('when Key Vault is down', () => {
  it('shows only an error id, and leaves no tenant claimed', async () => {
    const c = await invitedCustomer(world, { tenantId: fabrikam.tenantId });
    const browser = new Browser();
    await browser.get(`${world.base}/authenticate/${c.token}`);
    const start = await browser.post(`${world.base}/authenticate/${c.token}/start`);
    const walk = await driveSignIn(start.headers.get('location') ?? '', {
      account: 'isaiah@fabrikam.com',
      consentForOrganization: true,
    });
    await world.stack.keyVault.stop();
    const result = await browser.get(walk.location ?? '');
    expect(result.status).toBe(503);
    expect(result.html).toMatch(/error id: <code>[0-9a-f-]{36}<\/code>/);
    expect(result.html).not.toMatch(/key vault|ECONNREFUSED|at \w+ \(/i);
    expect(await tenantOwner(fabrikam.tenantId)).toBeUndefined();
    const stored = await storedCustomer(c.id);
    expect(stored.consentState).toBe('invited');
  });
});
