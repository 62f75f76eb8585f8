import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../shared/config';
import { ConflictError, DependencyError, GoneError } from '../../../../shared/errors';
import { createInvitationService } from '../../../../shared/onboarding/invitations';
import { createServices, type Services } from '../../../../shared/services';
import { testSettings } from '../../../helpers/stack';

/** What the invitation service does when time passes or the e-mail service is down (real storage, real vault). */
let services: Services;
let mailDown: Services;

beforeAll(() => {
  const settings = testSettings();
  process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER;
  services = createServices(loadConfig(settings));
  // Same storage, but the e-mail endpoint answers nothing.
  mailDown = createServices(loadConfig({ ...settings, EMAIL_ENDPOINT: 'https://127.0.0.1:9' }));
});

const newCustomer = async () => {
  const id = `c-${randomBytes(4).toString('hex')}`;
  await services.customers.create({ id, name: 'Adatum', adminEmail: 'admin@adatum.example' }, 'test');
  return id;
};

describe('invitations', () => {
  it('reports the e-mail service by name when it is down, keeps the previous link working, and marks the new one failed', async () => {
    const id = await newCustomer();
    const first = await services.invitations.send(id, 'test');
    const error = await mailDown.invitations.send(id, 'test').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe('e-mail');
    const list = await services.invitations.list({ customerId: id });
    expect(list.map((i) => i.status).sort()).toEqual(['failed', 'pending']);
    expect((await services.customers.get(id)).openInvitationId).toBe(first.invitation.id);
    const token = first.url!.split('/').pop()!;
    await expect(services.invitations.open(token)).resolves.toMatchObject({ customer: { id } });
    const audit = await services.audit.list({ customerId: id });
    expect(audit.items.map((a) => a.action)).toContain('invitation.failed');
  });

  it('expires a link after its validity, and a used link cannot be used again', async () => {
    const id = await newCustomer();
    const sent = await services.invitations.send(id, 'test');
    const token = sent.url!.split('/').pop()!;
    const later = createInvitationService({
      repos: services.onboarding,
      customers: services.customers,
      settings: services.invitationSettings,
      mailer: services.mailer,
      audit: services.audit,
      now: () => new Date(Date.parse(sent.invitation.expiresAt) + 1000),
    });
    await expect(later.open(token)).rejects.toBeInstanceOf(GoneError);
    expect((await later.list({ customerId: id }))[0]?.status).toBe('expired');

    await services.invitations.complete(token, 'admin@adatum.example');
    await expect(services.invitations.open(token)).rejects.toThrow('already been used');
    await expect(services.invitations.complete(token, 'someone@else.example')).rejects.toBeInstanceOf(
      GoneError,
    );
    await expect(services.invitations.open('x'.repeat(43))).rejects.toThrow(/not found/);
  });

  it('sends nothing to a suspended or cancelled customer, and a cancelled one cannot be changed', async () => {
    const id = await newCustomer();
    await services.customers.setStatus(id, 'suspended', 'test');
    const suspended = await services.invitations.send(id, 'test').catch((e: unknown) => e);
    expect(suspended).toBeInstanceOf(ConflictError);
    expect((suspended as ConflictError).details).toMatchObject({ reason: 'customer_suspended' });
    await services.customers.setStatus(id, 'cancelled', 'test');
    await expect(services.customers.update(id, { name: 'Renamed' }, 'test')).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await services.customers.get(id)).name).toBe('Adatum');
    expect(await services.invitations.list({ customerId: id })).toEqual([]);
  });
});
