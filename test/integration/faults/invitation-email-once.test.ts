import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '../../../shared/config';
import { DependencyError } from '../../../shared/errors';
import { EmailSendError, type Mailer } from '../../../shared/email/mailer';
import { createInvitationService, type InvitationService } from '../../../shared/onboarding/invitations';
import { createServices, type Services } from '../../../shared/services';
import { startFaultyStack, type FaultyStack } from '../../helpers/faults';
import { testSettings } from '../../helpers/stack';
import { outboxFor, unique } from '../orders/helpers';

/**
 * The invitation e-mail is the one effect outside our storage: whatever fails around it, a retry
 * with the same idempotency key (an order event's) sends it at most once, and the row the mail's
 * link points to is the one kept. Storage and the e-mail service fail through the fault harness.
 */
let faulty: FaultyStack;
let proxied: Services;
let direct: Services;

beforeAll(async () => {
  const settings = testSettings();
  faulty = await startFaultyStack(settings, inject('stack').urls);
  process.env.IDENTITY_ENDPOINT = faulty.settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = faulty.settings.IDENTITY_HEADER;
  proxied = createServices(loadConfig(faulty.settings));
  direct = createServices(loadConfig(settings));
});
afterAll(async () => {
  await faulty?.close();
});

const withMailer = (mailer: Mailer): InvitationService =>
  createInvitationService({
    repos: proxied.onboarding,
    customers: proxied.customers,
    settings: proxied.invitationSettings,
    mailer,
    audit: proxied.audit,
  });

async function newCustomer() {
  const id = unique('once');
  const adminEmail = `admin.${id}@once.example`;
  await direct.customers.create({ id, name: 'Once Ltd', adminEmail }, 'test');
  return { id, adminEmail };
}

/** Exactly one e-mail, one invitation, pending, and the mail's link opens that invitation. */
async function expectOneWorkingInvitation(customerId: string, adminEmail: string, status = 'pending') {
  const mails = outboxFor(adminEmail);
  expect(mails).toHaveLength(1);
  const invitations = await direct.invitations.list({ customerId });
  expect(invitations.map((i) => i.status)).toEqual([status]);
  const token = /\/authenticate\/([A-Za-z0-9_-]{43})/.exec(mails[0]!.text ?? '')?.[1] ?? '';
  const opened = await direct.invitations.open(token);
  expect(opened.invitation.id).toBe(invitations[0]!.id);
  expect((await direct.customers.get(customerId)).openInvitationId).toBe(invitations[0]!.id);
  const audit = await direct.audit.list({ customerId });
  expect(audit.items.filter((a) => a.action === 'invitation.sent')).toHaveLength(1);
}

describe('invitation e-mail: once', () => {
  it('storage goes away right after the e-mail went out: the retry marks it sent and sends nothing', async () => {
    const { id, adminEmail } = await newCustomer();
    let blinked = false;
    const invitations = withMailer({
      ...proxied.mailer,
      send: async (message, options) => {
        const sent = await proxied.mailer.send(message, options);
        if (!blinked) {
          blinked = true;
          faulty.storage.block();
        }
        return sent;
      },
    });
    const key = `${unique('evt')}:invitation`;
    const first = await invitations.send(id, 'orders:evt', { idempotencyKey: key }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(DependencyError);
    expect((first as DependencyError).dependency).toBe('storage');
    faulty.storage.unblock();
    const again = await invitations.send(id, 'orders:evt', { idempotencyKey: key });
    expect(again.url).toBeUndefined();
    await expectOneWorkingInvitation(id, adminEmail);
  }, 60_000);

  it('the e-mail service’s answer is lost after it sent: the retry asks it, and sends nothing more', async () => {
    const { id, adminEmail } = await newCustomer();
    let lost = false;
    const invitations = withMailer({
      ...proxied.mailer,
      send: async (message, options) => {
        const sent = await proxied.mailer.send(message, options);
        if (!lost) {
          lost = true;
          throw new EmailSendError('the answer was lost', 'unknown');
        }
        return sent;
      },
    });
    const key = `${unique('evt')}:invitation`;
    await expect(invitations.send(id, 'orders:evt', { idempotencyKey: key })).rejects.toBeInstanceOf(
      EmailSendError,
    );
    expect((await direct.invitations.list({ customerId: id })).map((i) => i.status)).toEqual(['sending']);
    await invitations.send(id, 'orders:evt', { idempotencyKey: key });
    await expectOneWorkingInvitation(id, adminEmail);
  }, 60_000);

  it('the e-mail service is unreachable: the retry finds it never got the mail and sends it once, with a working link', async () => {
    const { id, adminEmail } = await newCustomer();
    const invitations = withMailer(proxied.mailer);
    const key = `${unique('evt')}:invitation`;
    faulty.proxies.email.block();
    await expect(invitations.send(id, 'orders:evt', { idempotencyKey: key })).rejects.toBeInstanceOf(
      DependencyError,
    );
    faulty.proxies.email.unblock();
    expect(outboxFor(adminEmail)).toHaveLength(0);
    const again = await invitations.send(id, 'orders:evt', { idempotencyKey: key });
    expect(again.url).toBeDefined();
    await expectOneWorkingInvitation(id, adminEmail);
    // And once more: nothing new.
    await invitations.send(id, 'orders:evt', { idempotencyKey: key });
    await expectOneWorkingInvitation(id, adminEmail, 'opened');
  }, 60_000);
});
