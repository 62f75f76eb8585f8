import { createHash } from 'node:crypto';
import { odata } from '@azure/data-tables';
import { ConflictError, GoneError, NotFoundError } from '../errors';
import { EmailSendError, type Mailer } from '../email/mailer';
import type { AuditLog } from '../storage/audit';
import type { CustomerService } from './customers';
import type { InvitationSettings, InvitationSettingsService } from './invitation-settings';
import { invitationRefusal } from './lifecycle';
import { renderInvitation } from './invitation-template';
import type { Customer, Invitation, InvitationStatus } from './model';
import {
  CUSTOMER_PARTITION,
  INVITATION_PARTITION,
  type InvitationRow,
  type OnboardingRepositories,
} from './repositories';
import { hashToken, newPublicId, newToken, TOKEN_PATTERN } from './secure-token';
import { canonicalCustomerId } from './validation';

/**
 * Invitations: a one-time, expiring link e-mailed to a customer's admin. The link's secret is
 * returned once (to the operator who asked) and stored only as a hash; a new invitation revokes the
 * customer's previous open ones.
 *
 * The e-mail is the one effect outside our storage, so it happens once: the row is written first
 * (`sending`), the mail goes out under an operation id derived from the invitation (the e-mail
 * service treats a repeated id as the same send), then the row is marked sent. A caller that retries
 * (an order event, keyed by its event id) finds its row by the same id: if it is still `sending`, the
 * e-mail service is asked what became of the operation and the mail is sent only if it never got it
 * (with a fresh link: the old secret was never stored); otherwise the row, whose link the mail
 * carries, is kept and only marked sent.
 *
 * Storage layout: see `invitationRowSchema` (shared/onboarding/repositories.ts). Every read is a
 * point read (`id:`, `tok:`) or a range of row keys in the one partition (`cus:<customer>:`, `all:`).
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
  /**
   * The link, shown once; it is not stored anywhere. Absent when a retried send found its e-mail
   * already sent by an earlier attempt (whose link only the e-mail holds).
   */
  url?: string;
}

export interface InvitationPage {
  items: InvitationView[];
  continuationToken?: string;
}

export interface InvitationListOptions {
  customerId?: string;
  status?: InvitationStatus;
}

export interface OpenInvitation {
  invitation: Invitation;
  etag: string;
  customer: Customer;
}

export interface InvitationService {
  /**
   * Sends an invitation. With `idempotencyKey` (e.g. an order event's id and step) a retry is the
   * same invitation: at most one e-mail is ever sent for a key.
   */
  send(customerId: string, actor: string, options?: { idempotencyKey?: string }): Promise<SentInvitation>;
  /** One page, newest first (the admin API). */
  page(
    options?: InvitationListOptions & { pageSize?: number; continuationToken?: string },
  ): Promise<InvitationPage>;
  /** Every invitation matching, newest first (one customer's are few). */
  list(options?: InvitationListOptions): Promise<InvitationView[]>;
  /** Resolves a link for the admin's page: unknown → 404, used/expired/revoked → 410. Marks it opened. */
  open(token: string): Promise<OpenInvitation>;
  /** Marks the invitation used by the admin who consented; a second use is a conflict. */
  complete(token: string, completedBy: string): Promise<Invitation>;
  revoke(invitationId: string, actor: string, reason: string): Promise<InvitationView>;
}

const OPEN: readonly InvitationStatus[] = ['sending', 'pending', 'opened'];

export function effectiveStatus(i: Invitation, now: Date): InvitationStatus {
  if (OPEN.includes(i.status) && Date.parse(i.expiresAt) <= now.getTime()) return 'expired';
  return i.status;
}

export const INVITATION_ID_PATTERN = /^inv_[A-Za-z0-9_-]{16}$/;

/** The invitation id a caller's idempotency key stands for: the same key, the same invitation. */
export function invitationIdFor(idempotencyKey: string): string {
  return `inv_${createHash('sha256').update(`invitation:${idempotencyKey}`).digest('base64url').slice(0, 16)}`;
}

/** The e-mail operation id (a UUID) of an invitation's n-th send attempt: a repeat of it sends nothing. */
export function emailOperationIdFor(invitationId: string, attempt: number): string {
  const h = createHash('sha256').update(`invitation-email:${invitationId}:${attempt}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const MAX_TICKS = 9_999_999_999_999;
const newestFirst = (iso: string) => String(MAX_TICKS - Date.parse(iso)).padStart(13, '0');
const recordKey = (id: string) => `id:${id}`;
const tokenKey = (tokenHash: string) => `tok:${tokenHash}`;
const customerPrefix = (customerId: string) => `cus:${customerId}:`;
const ALL_PREFIX = 'all:';
/** Every row key an invitation is stored under (all written together, in one transaction). */
function keysOf(i: Invitation): string[] {
  const order = `${newestFirst(i.createdAt)}:${i.id}`;
  return [
    recordKey(i.id),
    tokenKey(i.tokenHash),
    `${customerPrefix(i.customerId)}${order}`,
    `${ALL_PREFIX}${order}`,
  ];
}
/** The row keys that start with `prefix`, as a filter: ':' is followed by ';'. */
function prefixRange(prefix: string): string {
  const upper = `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
  return odata`RowKey ge ${prefix} and RowKey lt ${upper}`;
}
function statusFilter(status: InvitationStatus, nowIso: string): string {
  switch (status) {
    case 'expired':
      return odata`(status eq ${'sending'} or status eq ${'pending'} or status eq ${'opened'}) and expiresAt le ${nowIso}`;
    case 'sending':
    case 'pending':
    case 'opened':
      return odata`status eq ${status} and expiresAt gt ${nowIso}`;
    default:
      return odata`status eq ${status}`;
  }
}
const strip = (row: InvitationRow): Invitation => {
  const { key: _key, ...invitation } = row;
  return invitation;
};

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
  const customerKey = (id: string) => canonicalCustomerId(id) ?? id.toLowerCase();

  const getRecord = async (id: string) => {
    if (!INVITATION_ID_PATTERN.test(id)) return undefined;
    const row = await invitations.get(INVITATION_PARTITION, recordKey(id));
    return row && { value: strip(row.value), etag: row.etag };
  };

  /** Writes every copy of an invitation in one transaction, guarded by the record's ETag. */
  const save = async (next: Invitation, etag: string, previousTokenHash: string) => {
    const steps = keysOf(next).map((key) =>
      key === recordKey(next.id)
        ? { op: 'update' as const, value: { ...next, key }, etag }
        : { op: 'upsert' as const, value: { ...next, key } },
    );
    const stale = previousTokenHash !== next.tokenHash ? [tokenKey(previousTokenHash)] : [];
    await invitations.transaction([
      ...steps,
      ...stale.map((rowKey) => ({ op: 'delete' as const, partitionKey: INVITATION_PARTITION, rowKey })),
    ]);
  };

  /** Read-modify-write of an invitation by id, retried when another writer got there first. */
  const mutate = async (
    id: string,
    change: (current: Invitation) => Invitation | undefined,
  ): Promise<Invitation | undefined> => {
    for (let attempt = 1; ; attempt++) {
      const current = await getRecord(id);
      if (!current) return undefined;
      const next = change(current.value);
      if (next === undefined) return current.value;
      try {
        await save(next, current.etag, current.value.tokenHash);
        return next;
      } catch (e) {
        if (!(e instanceof ConflictError) || attempt >= 5) throw e;
      }
    }
  };

  const revokeRow = async (id: string, reason: string, actor: string) => {
    let revoked = false;
    const updated = await mutate(id, (i) => {
      if (!OPEN.includes(i.status)) return undefined;
      revoked = true;
      return { ...i, status: 'revoked', revokedAt: now().toISOString(), revokedReason: reason };
    });
    if (updated && revoked) {
      await deps.audit.record({
        actor,
        action: 'invitation.revoked',
        customerId: updated.customerId,
        target: id,
        details: { reason },
      });
    }
    return updated;
  };

  const resolve = async (token: string) => {
    if (!TOKEN_PATTERN.test(token)) throw new NotFoundError('Invitation');
    const row = await invitations.get(INVITATION_PARTITION, tokenKey(hashToken(token)));
    if (!row) throw new NotFoundError('Invitation');
    return { value: strip(row.value), etag: row.etag };
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
        // `sending` too: its e-mail may have gone out before the row could say so.
        return;
    }
  };

  const page = async (
    options: InvitationListOptions & { pageSize?: number; continuationToken?: string } = {},
  ): Promise<InvitationPage> => {
    const customerId = options.customerId === undefined ? undefined : canonicalCustomerId(options.customerId);
    if (options.customerId !== undefined && customerId === undefined) return { items: [] };
    const at = now();
    const filters = [
      prefixRange(customerId ? customerPrefix(customerId) : ALL_PREFIX),
      ...(options.status ? [statusFilter(options.status, at.toISOString())] : []),
    ];
    const result = await invitations.list({
      partitionKey: INVITATION_PARTITION,
      filter: filters.map((f) => `(${f})`).join(' and '),
      pageSize: Math.min(Math.max(options.pageSize ?? 100, 1), 1000),
      ...(options.continuationToken ? { continuationToken: options.continuationToken } : {}),
    });
    return {
      items: result.items.map((r) => viewInvitation(strip(r.value), at)),
      ...(result.continuationToken ? { continuationToken: result.continuationToken } : {}),
    };
  };

  /**
   * What follows a sent e-mail, safe to repeat: the customer's open invitation is this one (unless
   * a newer one exists) and every older open one is revoked.
   */
  const finish = async (invitation: Invitation, actor: string) => {
    if (!OPEN.includes(effectiveStatus(invitation, now()))) return;
    const all: Invitation[] = [];
    let continuationToken: string | undefined;
    do {
      const p = await invitations.list({
        partitionKey: INVITATION_PARTITION,
        filter: prefixRange(customerPrefix(invitation.customerId)),
        pageSize: 1000,
        ...(continuationToken ? { continuationToken } : {}),
      });
      all.push(...p.items.map((r) => strip(r.value)));
      continuationToken = p.continuationToken;
    } while (continuationToken);
    const newer = all.some(
      (i) => i.id !== invitation.id && OPEN.includes(i.status) && i.createdAt > invitation.createdAt,
    );
    if (!newer) {
      await customerRows.mutate(CUSTOMER_PARTITION, customerKey(invitation.customerId), (c) =>
        c.openInvitationId === invitation.id && c.consentState !== 'none'
          ? undefined
          : {
              ...c,
              openInvitationId: invitation.id,
              consentState: c.consentState === 'none' ? 'invited' : c.consentState,
              updatedAt: now().toISOString(),
            },
      );
    }
    for (const older of all) {
      if (
        older.id !== invitation.id &&
        OPEN.includes(older.status) &&
        older.createdAt <= invitation.createdAt
      ) {
        await revokeRow(older.id, 'replaced by a newer invitation', actor);
      }
    }
  };

  /** Marks a `sending` invitation sent (its e-mail is confirmed), then does what follows. */
  const markSent = async (id: string, operationId: string, actor: string) => {
    let transitioned = false;
    const sent = await mutate(id, (i) => {
      if (i.emailOperationId === operationId && i.status !== 'sending') return undefined;
      transitioned = i.status === 'sending';
      return {
        ...i,
        ...(i.status === 'sending' ? { status: 'pending' as const } : {}),
        emailOperationId: operationId,
      };
    });
    if (!sent) throw new NotFoundError('Invitation', id);
    await finish(sent, actor);
    if (transitioned) {
      await deps.audit.record({
        actor,
        action: 'invitation.sent',
        customerId: sent.customerId,
        target: sent.id,
        details: { sentTo: sent.sentTo, expiresAt: sent.expiresAt },
      });
    }
    return sent;
  };

  /** Sends the e-mail of a `sending` invitation whose link is `token`, once. */
  const deliver = async (
    invitation: Invitation,
    token: string,
    customer: Customer,
    settings: InvitationSettings,
    actor: string,
  ): Promise<SentInvitation> => {
    const url = `${settings.portalUrl}/${token}`;
    const mail = renderInvitation(
      { subject: settings.subjectTemplate, body: settings.bodyTemplate },
      {
        CustomerId: customer.id,
        CustomerName: customer.name,
        ProviderName: settings.providerName,
        InvitationUrl: url,
        ExpiresAt: formatExpiry(invitation.expiresAt),
        AdminEmail: customer.adminEmail,
        ValidDays: String(settings.validityDays),
        CustomerAuthenticationPortalUrl: settings.portalUrl,
        InvitationId: token,
      },
    );
    const operationId = emailOperationIdFor(invitation.id, invitation.sendAttempt ?? 1);
    try {
      await deps.mailer.send(
        {
          to: [{ address: customer.adminEmail, displayName: `${customer.name} administrator` }],
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          ...(settings.replyTo
            ? { replyTo: [{ address: settings.replyTo, displayName: settings.providerName }] }
            : {}),
        },
        { operationId },
      );
    } catch (e) {
      // Whether the mail may have gone out is unknown: the row stays `sending`, and a retry asks.
      if (!(e instanceof EmailSendError) || e.sent !== false) throw e;
      // The link never reached anyone: make it unusable, keep the record, leave the previous one open.
      await mutate(invitation.id, (i) =>
        i.status === 'sending' ? { ...i, status: 'failed' } : undefined,
      ).catch(() => undefined);
      await deps.audit.record({
        actor,
        action: 'invitation.failed',
        customerId: customer.id,
        target: invitation.id,
        details: { reason: e.message },
      });
      throw e;
    }
    const sent = await markSent(invitation.id, operationId, actor);
    return { invitation: viewInvitation(sent, now()), url };
  };

  const refuseFor = (customer: Customer) => {
    const refusal = invitationRefusal(customer.status);
    if (refusal) throw new ConflictError(refusal.message, { reason: refusal.code });
  };

  /** A row that is `sending` or `failed` gets a fresh link (the old secret was never stored) and is sent. */
  const resend = async (
    current: { value: Invitation; etag: string },
    attempt: number,
    customer: Customer,
    actor: string,
  ): Promise<SentInvitation> => {
    refuseFor(customer);
    const settings = await deps.settings.get();
    const token = newToken();
    const next: Invitation = {
      ...current.value,
      tokenHash: hashToken(token),
      sentTo: customer.adminEmail,
      status: 'sending',
      sendAttempt: attempt,
      expiresAt: new Date(now().getTime() + settings.validityDays * 24 * 3600 * 1000).toISOString(),
    };
    await save(next, current.etag, current.value.tokenHash);
    return deliver(next, token, customer, settings, actor);
  };

  /** A retry of a send that found its row: finish what the earlier attempt started, sending at most once. */
  const resume = async (
    current: { value: Invitation; etag: string },
    customer: Customer,
    actor: string,
  ): Promise<SentInvitation> => {
    const i = current.value;
    const attempt = i.sendAttempt ?? 1;
    if (i.status === 'failed') return resend(current, attempt + 1, customer, actor);
    if (i.status !== 'sending') {
      await finish(i, actor);
      return { invitation: viewInvitation(i, now()) };
    }
    const operationId = emailOperationIdFor(i.id, attempt);
    switch (await deps.mailer.status(operationId)) {
      case 'not_found':
        return resend(current, attempt, customer, actor);
      case 'failed':
        return resend(current, attempt + 1, customer, actor);
      default: {
        // The e-mail service has it: the mail (and its link, this row's) is out or on its way.
        const sent = await markSent(i.id, operationId, actor);
        return { invitation: viewInvitation(sent, now()) };
      }
    }
  };

  return {
    async send(customerId, actor, options = {}) {
      const customer = await deps.customers.get(customerId);
      const id = options.idempotencyKey ? invitationIdFor(options.idempotencyKey) : newPublicId('inv');
      const earlier = options.idempotencyKey ? await getRecord(id) : undefined;
      if (earlier) {
        if (earlier.value.customerId !== customerKey(customer.id))
          throw new ConflictError('This idempotency key was used for another customer.');
        return resume(earlier, customer, actor);
      }
      refuseFor(customer);
      const settings = await deps.settings.get();
      const token = newToken();
      const createdAt = now();
      const invitation: Invitation = {
        id,
        tokenHash: hashToken(token),
        customerId: customerKey(customer.id),
        sentTo: customer.adminEmail,
        createdAt: createdAt.toISOString(),
        createdBy: actor,
        expiresAt: new Date(createdAt.getTime() + settings.validityDays * 24 * 3600 * 1000).toISOString(),
        status: 'sending',
        sendAttempt: 1,
      };
      try {
        await invitations.transaction(
          keysOf(invitation).map((key) => ({ op: 'create', value: { ...invitation, key } })),
        );
      } catch (e) {
        // Another attempt with the same key got there first (or an earlier write was acknowledged late).
        const raced = e instanceof ConflictError ? await getRecord(id) : undefined;
        if (!raced) throw e;
        return resume(raced, customer, actor);
      }
      return deliver(invitation, token, customer, settings, actor);
    },

    page,

    async list(options = {}) {
      const items: InvitationView[] = [];
      let continuationToken: string | undefined;
      do {
        const p = await page({
          ...options,
          pageSize: 1000,
          ...(continuationToken ? { continuationToken } : {}),
        });
        items.push(...p.items);
        continuationToken = p.continuationToken;
      } while (continuationToken);
      return items;
    },

    async open(token) {
      const row = await resolve(token);
      refuseUnusable(row.value);
      const customer = await deps.customers.get(row.value.customerId);
      if (row.value.status === 'pending' || row.value.status === 'sending') {
        const opened = await mutate(row.value.id, (i) =>
          i.status === 'pending' || i.status === 'sending'
            ? { ...i, status: 'opened', openedAt: now().toISOString() }
            : undefined,
        );
        if (opened) return { invitation: opened, etag: '', customer };
      }
      return { invitation: row.value, etag: row.etag, customer };
    },

    async complete(token, completedBy) {
      const row = await resolve(token);
      refuseUnusable(row.value);
      const done = await mutate(row.value.id, (i) => {
        if (i.tokenHash !== row.value.tokenHash) throw new NotFoundError('Invitation');
        refuseUnusable(i);
        return { ...i, status: 'completed', completedAt: now().toISOString(), completedBy };
      });
      if (!done) throw new NotFoundError('Invitation');
      // The customer no longer has an open invitation (unless a newer one was sent meanwhile).
      await customerRows.mutate(CUSTOMER_PARTITION, customerKey(row.value.customerId), (c) =>
        c.openInvitationId === row.value.id ? { ...c, openInvitationId: undefined } : undefined,
      );
      return done;
    },

    async revoke(invitationId, actor, reason) {
      const row = await getRecord(invitationId);
      if (!row) throw new NotFoundError('Invitation', invitationId);
      const revoked = await revokeRow(invitationId, reason, actor);
      return viewInvitation(revoked ?? row.value, now());
    },
  };
}
