import { ConflictError, GoneError, NotFoundError } from '../errors';
import type { Mailer } from '../email/mailer';
import type { AuditLog } from '../storage/audit';
import { escapeOData } from '../storage/table-repository';
import type { CustomerService } from './customers';
import type { InvitationSettingsService } from './invitation-settings';
import { invitationRefusal } from './lifecycle';
import { renderInvitation } from './invitation-template';
import type { Customer, Invitation, InvitationStatus } from './model';
import { CUSTOMER_PARTITION, INVITATION_PARTITION, type OnboardingRepositories } from './repositories';
import { hashToken, newPublicId, newToken, TOKEN_PATTERN } from './secure-token';

/**
 * Invitations: a one-time, expiring link e-mailed to a customer's admin. The link's secret is
 * returned once (to the operator who asked) and stored only as a hash; a new invitation revokes the
 * customer's previous open one.
 */
export interface InvitationView {
  id: string;
  customerId: string;
  sentTo: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string;
  status: InvitationStatus;
  openedAt: string | null;
  completedAt: string | null;
  completedBy: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
}

export interface SentInvitation {
  invitation: InvitationView;
  /** The link, shown once; it is not stored anywhere. */
  url: string;
}

export interface OpenInvitation {
  invitation: Invitation;
  etag: string;
  customer: Customer;
}

export interface InvitationService {
  send(customerId: string, actor: string): Promise<SentInvitation>;
  list(options?: { customerId?: string; status?: InvitationStatus }): Promise<InvitationView[]>;
  /** Resolves a link for the admin's page: unknown → 404, used/expired/revoked → 410. Marks it opened. */
  open(token: string): Promise<OpenInvitation>;
  /** Marks the invitation used by the admin who consented; a second use is a conflict. */
  complete(token: string, completedBy: string): Promise<Invitation>;
  revoke(invitationId: string, actor: string, reason: string): Promise<InvitationView>;
}

export function effectiveStatus(i: Invitation, now: Date): InvitationStatus {
  if ((i.status === 'pending' || i.status === 'opened') && Date.parse(i.expiresAt) <= now.getTime())
    return 'expired';
  return i.status;
}

export function viewInvitation(i: Invitation, now: Date): InvitationView {
  return {
    id: i.id,
    customerId: i.customerId,
    sentTo: i.sentTo,
    createdAt: i.createdAt,
    createdBy: i.createdBy,
    expiresAt: i.expiresAt,
    status: effectiveStatus(i, now),
    openedAt: i.openedAt ?? null,
    completedAt: i.completedAt ?? null,
    completedBy: i.completedBy ?? null,
    revokedAt: i.revokedAt ?? null,
    revokedReason: i.revokedReason ?? null,
  };
}

export function formatExpiry(iso: string): string {
  return new Date(iso).toLocaleString('en-GB', {
    timeZone: 'UTC',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  });
}

export function createInvitationService(deps: {
  repos: OnboardingRepositories;
  customers: CustomerService;
  settings: InvitationSettingsService;
  mailer: Mailer;
  audit: AuditLog;
  now?: () => Date;
}): InvitationService {
  const { invitations, customers: customerRows } = deps.repos;
  const now = deps.now ?? (() => new Date());

  const findById = async (id: string) => {
    if (!/^inv_[A-Za-z0-9_-]{16}$/.test(id)) return undefined;
    const page = await invitations.list({
      partitionKey: INVITATION_PARTITION,
      filter: `id eq '${escapeOData(id)}'`,
    });
    return page.items[0];
  };

  const revokeRow = async (id: string, reason: string, actor: string) => {
    const row = await findById(id);
    if (!row) return undefined;
    const updated = await invitations.mutate(INVITATION_PARTITION, row.value.tokenHash, (i) =>
      i.status === 'pending' || i.status === 'opened'
        ? { ...i, status: 'revoked', revokedAt: now().toISOString(), revokedReason: reason }
        : undefined,
    );
    if (
      updated &&
      updated.value.status === 'revoked' &&
      updated.value.revokedAt &&
      row.value.status !== 'revoked'
    ) {
      await deps.audit.record({
        actor,
        action: 'invitation.revoked',
        customerId: updated.value.customerId,
        target: id,
        details: { reason },
      });
    }
    return updated?.value;
  };

  const resolve = async (token: string) => {
    if (!TOKEN_PATTERN.test(token)) throw new NotFoundError('Invitation');
    const row = await invitations.get(INVITATION_PARTITION, hashToken(token));
    if (!row) throw new NotFoundError('Invitation');
    return row;
  };

  const refuseUnusable = (i: Invitation) => {
    switch (effectiveStatus(i, now())) {
      case 'completed':
        throw new GoneError('This invitation has already been used.');
      case 'expired':
        throw new GoneError('This invitation has expired.');
      case 'revoked':
        throw new GoneError('This invitation was replaced by a newer one or withdrawn.');
      case 'failed':
        throw new GoneError('This invitation could not be delivered and is not valid.');
      default:
        return;
    }
  };

  return {
    async send(customerId, actor) {
      const customer = await deps.customers.get(customerId);
      const refusal = invitationRefusal(customer.status);
      if (refusal) throw new ConflictError(refusal.message, { reason: refusal.code });
      const settings = await deps.settings.get();
      const token = newToken();
      const createdAt = now();
      const expiresAt = new Date(createdAt.getTime() + settings.validityDays * 24 * 3600 * 1000);
      const url = `${settings.portalUrl}/${token}`;
      const created = await invitations.create({
        id: newPublicId('inv'),
        tokenHash: hashToken(token),
        customerId: customer.id,
        sentTo: customer.adminEmail,
        createdAt: createdAt.toISOString(),
        createdBy: actor,
        expiresAt: expiresAt.toISOString(),
        status: 'pending',
      });
      const mail = renderInvitation(
        { subject: settings.subjectTemplate, body: settings.bodyTemplate },
        {
          CustomerId: customer.id,
          CustomerName: customer.name,
          ProviderName: settings.providerName,
          InvitationUrl: url,
          ExpiresAt: formatExpiry(expiresAt.toISOString()),
          AdminEmail: customer.adminEmail,
          ValidDays: String(settings.validityDays),
          CustomerAuthenticationPortalUrl: settings.portalUrl,
          InvitationId: token,
        },
      );
      let operationId: string;
      try {
        ({ operationId } = await deps.mailer.send({
          to: [{ address: customer.adminEmail, displayName: `${customer.name} administrator` }],
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          ...(settings.replyTo
            ? { replyTo: [{ address: settings.replyTo, displayName: settings.providerName }] }
            : {}),
        }));
      } catch (e) {
        // The link never reached anyone: make it unusable, keep the record, leave the previous one open.
        await invitations.update({ ...created.value, status: 'failed' }, created.etag).catch(() => undefined);
        await deps.audit.record({
          actor,
          action: 'invitation.failed',
          customerId: customer.id,
          target: created.value.id,
          details: { reason: e instanceof Error ? e.message : 'send failed' },
        });
        throw e;
      }
      const sent = await invitations.update(
        { ...created.value, emailOperationId: operationId },
        created.etag,
      );
      let previous: string | undefined;
      await customerRows.mutate(CUSTOMER_PARTITION, customer.id.toLowerCase(), (c) => {
        previous = c.openInvitationId;
        return {
          ...c,
          openInvitationId: created.value.id,
          consentState: c.consentState === 'none' ? 'invited' : c.consentState,
          updatedAt: now().toISOString(),
        };
      });
      if (previous && previous !== created.value.id) {
        await revokeRow(previous, 'replaced by a newer invitation', actor);
      }
      await deps.audit.record({
        actor,
        action: 'invitation.sent',
        customerId: customer.id,
        target: created.value.id,
        details: { sentTo: customer.adminEmail, expiresAt: created.value.expiresAt },
      });
      return { invitation: viewInvitation(sent.value, now()), url };
    },

    async list(options = {}) {
      const filters = [
        options.customerId ? `customerId eq '${escapeOData(options.customerId)}'` : undefined,
      ].filter((f): f is string => f !== undefined);
      const rows: Invitation[] = [];
      for await (const row of invitations.listAll({
        partitionKey: INVITATION_PARTITION,
        ...(filters.length ? { filter: filters.join(' and ') } : {}),
      })) {
        rows.push(row.value);
      }
      const at = now();
      return rows
        .map((i) => viewInvitation(i, at))
        .filter((v) => !options.status || v.status === options.status)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },

    async open(token) {
      const row = await resolve(token);
      refuseUnusable(row.value);
      const customer = await deps.customers.get(row.value.customerId);
      if (row.value.status === 'pending') {
        const opened = await invitations.mutate(INVITATION_PARTITION, row.value.tokenHash, (i) =>
          i.status === 'pending' ? { ...i, status: 'opened', openedAt: now().toISOString() } : undefined,
        );
        if (opened) return { invitation: opened.value, etag: opened.etag, customer };
      }
      return { invitation: row.value, etag: row.etag, customer };
    },

    async complete(token, completedBy) {
      const row = await resolve(token);
      refuseUnusable(row.value);
      const done = await invitations.update(
        { ...row.value, status: 'completed', completedAt: now().toISOString(), completedBy },
        row.etag,
      );
      // The customer no longer has an open invitation (unless a newer one was sent meanwhile).
      await customerRows.mutate(CUSTOMER_PARTITION, row.value.customerId.toLowerCase(), (c) =>
        c.openInvitationId === row.value.id ? { ...c, openInvitationId: undefined } : undefined,
      );
      return done.value;
    },

    async revoke(invitationId, actor, reason) {
      const row = await findById(invitationId);
      if (!row) throw new NotFoundError('Invitation', invitationId);
      const revoked = await revokeRow(invitationId, reason, actor);
      return viewInvitation(revoked ?? row.value, now());
    },
  };
}
