import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Host } from '../../../dev/host';
import { readOutbox } from '../../../dev/email/eml';
import { startTestHost, TEST_FUNCTION_KEY } from '../../helpers/host';
import { testSettings } from '../../helpers/stack';

/** Operators create customers and send invitations through the admin API; the e-mail lands in the outbox. */
let host: Host;

beforeAll(async () => {
  host = await startTestHost(testSettings());
});
afterAll(async () => {
  await host?.stop();
});

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${host.url}${path}`, {
    method,
    headers: {
      'x-functions-key': TEST_FUNCTION_KEY,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field below
    body: (text ? JSON.parse(text) : undefined) as any,
  };
};

/** The link's path on this test's host (the stack's public address is not where this host listens). */
const open = (url: string) => fetch(`${host.url}${new URL(url).pathname}`);
const newId = () => `cust-${randomBytes(4).toString('hex')}`;
const mailTo = (customerId: string) =>
  readOutbox(inject('stack').outboxDir).filter((m) => m.text?.includes(`(${customerId})`));

describe('customers', () => {
  it('creates a customer and shows it with its consent state', async () => {
    const id = newId();
    const created = await api('POST', '/api/customers', {
      id,
      name: 'Contoso Ltd',
      adminEmail: 'Patti@Contoso.com',
      tenantDomain: 'contoso.onmicrosoft.com',
      extraFieldFromAnOlderClient: true,
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/customers/${id}`);
    expect(created.body).toMatchObject({
      id,
      adminEmail: 'patti@contoso.com',
      status: 'active',
      consent: { state: 'none', tenantId: null },
    });
    expect((await api('GET', `/api/customers/${id}`)).body.name).toBe('Contoso Ltd');
    const list = await api('GET', '/api/customers?pageSize=1000');
    expect(list.body.items.map((c: { id: string }) => c.id)).toContain(id);
  });

  it('refuses bad input field by field and stores nothing', async () => {
    const id = newId();
    const res = await api('POST', '/api/customers', {
      id,
      name: '',
      adminEmail: 'patti_contoso.com#EXT#@fabrikam.onmicrosoft.com',
      tenantId: 'not-a-guid',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'adminEmail',
      'name',
      'tenantId',
    ]);
    expect((await api('GET', `/api/customers/${id}`)).status).toBe(404);
    expect((await api('POST', '/api/customers', { id: 'x' })).status).toBe(400);
    const notJson = await fetch(`${host.url}/api/customers`, {
      method: 'POST',
      headers: { 'x-functions-key': TEST_FUNCTION_KEY, 'content-type': 'application/json' },
      body: '{"id":',
    });
    expect(notJson.status).toBe(400);
  });

  it('answers 409 to a second customer with the same id, whatever its case', async () => {
    const id = newId();
    expect((await api('POST', '/api/customers', { id, name: 'A', adminEmail: 'a@a.example' })).status).toBe(
      201,
    );
    const again = await api('POST', '/api/customers', {
      id: id.toUpperCase(),
      name: 'B',
      adminEmail: 'b@b.example',
    });
    expect(again.status).toBe(409);
    expect((await api('GET', `/api/customers/${id}`)).body.name).toBe('A');
  });

  it('lets an operator correct details, field by field, and refuses bad ones', async () => {
    const id = newId();
    await api('POST', '/api/customers', { id, name: 'Proseware', adminEmail: 'old@proseware.example' });
    const patched = await api('PATCH', `/api/customers/${id}`, {
      adminEmail: 'New@Proseware.example',
      tenantDomain: null,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Proseware', adminEmail: 'new@proseware.example' });
    const bad = await api('PATCH', `/api/customers/${id}`, { adminEmail: 'x#EXT#@y.example', name: '' });
    expect(bad.status).toBe(400);
    expect((await api('GET', `/api/customers/${id}`)).body.adminEmail).toBe('new@proseware.example');
    expect((await api('PATCH', `/api/customers/${newId()}`, { name: 'x' })).status).toBe(404);
    const audit = await api('GET', `/api/audit?customerId=${id}`);
    expect(audit.body.items[0]).toMatchObject({
      action: 'customer.updated',
      details: { adminEmail: 'new@proseware.example' },
    });
  });

  it('needs a function key', async () => {
    expect((await fetch(`${host.url}/api/customers`)).status).toBe(401);
  });
});

describe('invitations', () => {
  it('e-mails the admin a link that is shown once, with plain-text and escaped HTML parts', async () => {
    const id = newId();
    await api('POST', '/api/customers', {
      id,
      name: 'Fabrikam <b>Bold</b> & Co',
      adminEmail: 'isaiah@fabrikam.com',
    });
    const sent = await api('POST', `/api/customers/${id}/invitations`);
    expect(sent.status).toBe(201);
    expect(sent.body.url).toMatch(/\/authenticate\/[A-Za-z0-9_-]{43}$/);
    expect(sent.body).toMatchObject({ customerId: id, sentTo: 'isaiah@fabrikam.com', status: 'pending' });
    const days = (Date.parse(sent.body.expiresAt) - Date.parse(sent.body.createdAt)) / 86_400_000;
    expect(days).toBe(7);

    const [mail] = mailTo(id);
    expect(mail?.to).toEqual(['isaiah@fabrikam.com']);
    expect(mail?.replyTo).toEqual(['operations@provider.example']);
    expect(mail?.text).toContain(sent.body.url);
    expect(mail?.html).toContain('Fabrikam &lt;b&gt;Bold&lt;/b&gt; &amp; Co');
    expect(mail?.html).not.toContain('<b>Bold</b>');

    const listed = await api('GET', `/api/invitations?customerId=${id}`);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).not.toHaveProperty('url');
    expect(JSON.stringify(listed.body)).not.toContain(sent.body.url.split('/').pop());
    expect((await api('GET', `/api/customers/${id}`)).body).toMatchObject({
      consent: { state: 'invited' },
      openInvitationId: sent.body.id,
    });
  });

  it('revokes the previous open invitation when a new one is sent', async () => {
    const id = newId();
    await api('POST', '/api/customers', { id, name: 'Northwind', adminEmail: 'nestor@northwindtraders.com' });
    const first = await api('POST', `/api/customers/${id}/invitations`);
    const second = await api('POST', `/api/customers/${id}/invitations`);
    const items = (await api('GET', `/api/invitations?customerId=${id}`)).body.items as {
      id: string;
      status: string;
      revokedReason: string | null;
    }[];
    expect(items.find((i) => i.id === first.body.id)).toMatchObject({
      status: 'revoked',
      revokedReason: 'replaced by a newer invitation',
    });
    expect(items.find((i) => i.id === second.body.id)?.status).toBe('pending');
    expect((await open(first.body.url)).status).toBe(410);
    expect((await open(second.body.url)).status).toBe(200);
  });

  it('lets an operator withdraw an invitation, after which its link is gone', async () => {
    const id = newId();
    await api('POST', '/api/customers', { id, name: 'Tailspin', adminEmail: 'admin@tailspin.example' });
    const sent = await api('POST', `/api/customers/${id}/invitations`);
    const revoked = await api('POST', `/api/invitations/${sent.body.id}/revoke`, { reason: 'wrong admin' });
    expect(revoked.body).toMatchObject({ status: 'revoked', revokedReason: 'wrong admin' });
    expect((await open(sent.body.url)).status).toBe(410);
    expect((await api('POST', '/api/invitations/inv_doesnotexist00000/revoke')).status).toBe(404);
  });

  it('writes who did what to the audit log, newest first', async () => {
    const id = newId();
    await api('POST', '/api/customers', { id, name: 'Litware', adminEmail: 'admin@litware.example' });
    const first = await api('POST', `/api/customers/${id}/invitations`);
    await api('POST', `/api/customers/${id}/invitations`);
    const audit = await api('GET', `/api/audit?customerId=${id}`);
    expect(audit.status).toBe(200);
    const actions = audit.body.items.map((a: { action: string }) => a.action) as string[];
    // Newest first; two entries written within one millisecond may come in either order.
    expect(actions.at(-1)).toBe('customer.created');
    expect([...actions].sort()).toEqual([
      'customer.created',
      'invitation.revoked',
      'invitation.sent',
      'invitation.sent',
    ]);
    expect(audit.body.items.every((a: { actor: string }) => a.actor === 'operator')).toBe(true);
    expect(audit.body.items.find((a: { action: string }) => a.action === 'invitation.revoked').target).toBe(
      first.body.id,
    );
    expect(JSON.stringify(audit.body)).not.toContain(first.body.url.split('/').pop());
    expect((await api('GET', '/api/audit?customerId=bad%20id')).status).toBe(400);
  });

  it('answers 404 for an unknown customer and sends nothing', async () => {
    const id = newId();
    expect((await api('POST', `/api/customers/${id}/invitations`)).status).toBe(404);
    expect(mailTo(id)).toHaveLength(0);
  });
});

describe('invitation settings', () => {
  it('uses saved templates for the next invitation', async () => {
    const saved = await api('PATCH', '/api/settings/invitation', {
      subjectTemplate: 'Welcome {{CustomerName}}',
      bodyTemplate:
        'Dear Administrator of {{CustomerId}} ({{CustomerId}}),\n\n{{CustomerAuthenticationPortalUrl}}/{{InvitationId}}\n\nValid {{ValidDays}} days.',
      validityDays: 3,
    });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ validityDays: 3, updatedBy: 'operator' });
    const id = newId();
    await api('POST', '/api/customers', { id, name: 'Wingtip', adminEmail: 'admin@wingtip.example' });
    const sent = await api('POST', `/api/customers/${id}/invitations`);
    const [mail] = mailTo(id);
    expect(mail?.subject).toBe('Welcome Wingtip');
    expect(mail?.text).toContain(sent.body.url);
    expect(mail?.text).toContain('Valid 3 days.');
  });

  it('refuses a template naming an unknown placeholder and keeps what was there', async () => {
    const before = (await api('GET', '/api/settings/invitation')).body;
    const res = await api('PUT', '/api/settings/invitation', {
      bodyTemplate: 'Your password: {{AdminPassword}}',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.fields[0].field).toBe('bodyTemplate');
    expect((await api('GET', '/api/settings/invitation')).body).toEqual(before);
    expect((await api('PATCH', '/api/settings/invitation', { validityDays: 90 })).status).toBe(400);
    expect((await api('PATCH', '/api/settings/invitation', { unknownSetting: 1 })).status).toBe(400);
  });
});
