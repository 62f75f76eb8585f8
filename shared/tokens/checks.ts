import { createHash } from 'node:crypto';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Mailer } from '../email/mailer';
import { ConflictError, DependencyError, DomainError, NotFoundError } from '../errors';
import { fanOut, type FanOutResult } from '../jobs/fan-out';
import type { Runs } from '../jobs/runs';
import { errorText, type Log } from '../log';
import type { CustomerService } from '../onboarding/customers';
import type { InvitationService } from '../onboarding/invitations';
import type { Customer } from '../onboarding/model';
import type { Outbox } from '../outbox';
import { escapeHtml } from '../pages/html';
import type { AuditLog } from '../storage/audit';
import type { QueueSender } from '../storage/queue-sender';
import { escalations, type Escalation } from './escalation';
import { verifyCustomerToken } from './queues';
import type { TokenService } from './service';
import type { TokenStatus } from './rules';
import { authenticationStatusLine, type AuthenticationStatusLine, type TokenHealthView } from './views';

/**
 * Token health's background work and its consequences: which customers the timer verifies, one
 * verification with everything its result asks for (onboarding told the consent lapsed, one open
 * re-consent invitation with weekly reminders, the provider alerted once, the ordering system told),
 * an operator's verify-all, and revoking our access.
 */
export type CheckResult =
  | { outcome: 'verified'; health: TokenHealthView; actions: Escalation['kind'][] }
  | { outcome: 'skipped'; reason: string };

export interface TokenChecks {
  /** Verifies one customer and acts on the result. `force` (an operator asked) ignores the skips. */
  check(customerId: string, options: { actor: string; force?: boolean; log: Log }): Promise<CheckResult>;
  /** The timer's (and verify-all's) fan-out: one message per customer whose access is worth checking. */
  fanOut(log: Log, runId?: string): Promise<FanOutResult>;
  /** An operator's verify-all: a run whose progress `GET /api/jobs/{id}` shows. */
  verifyAll(actor: string, log: Log): Promise<{ runId: string; sent: number }>;
  /** Ends our access: the token is deleted from Key Vault, the consent cleared, the row says revoked. */
  revoke(customerId: string, actor: string, reason: string): Promise<{ revoked: boolean }>;
  /**
   * One page of the Authentication Status view: a page of customers (one partition), each with its
   * token health (a point read). Filtered by status after the join, so a page may hold fewer lines.
   */
  statusPage(query: {
    status?: TokenStatus | undefined;
    pageSize?: number | undefined;
    continuationToken?: string | undefined;
  }): Promise<{ items: AuthenticationStatusLine[]; continuationToken: string | null }>;
}

/** Why the timer leaves a customer out (the worker looks at token health's own row for the rest). */
export function timerSkip(c: Pick<Customer, 'status' | 'consentState'>): string | undefined {
  if (c.status !== 'active') return c.status;
  if (c.consentState !== 'consented' && c.consentState !== 'needs_consent') return 'not_consented';
  return undefined;
}

/** A UUID derived from a key: the e-mail service treats a repeated operation id as the same send. */
export function operationIdFor(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function createTokenChecks(deps: {
  config: Config;
  tokens: TokenService;
  customers: CustomerService;
  invitations: InvitationService;
  outbox: Outbox;
  mailer: Mailer;
  audit: AuditLog;
  queues: QueueSender;
  runs: Runs;
  now: Clock;
}): TokenChecks {
  const { config } = deps;

  const alertProvider = async (key: string, customer: Customer, subject: string, lines: string[]) => {
    const to = config.provider.notifyAddress;
    if (!to) return;
    await deps.mailer.send(
      {
        to: [{ address: to }],
        subject: `${subject}: ${customer.name}`,
        text: lines.join('\n'),
        html: lines.map((l) => `<p>${escapeHtml(l)}</p>`).join(''),
      },
      { operationId: operationIdFor(key) },
    );
  };

  const act = async (
    customer: Customer,
    before: TokenHealthView | undefined,
    health: TokenHealthView,
    actor: string,
    log: Log,
  ) => {
    const todo = escalations({
      customer,
      health,
      now: deps.now(),
      alertAfterFailures: config.tokens.alertAfterFailures,
      escalateAfterDays: config.tokens.escalateAfterDays,
    });
    const changed = before?.status !== health.status;
    const facts = { customerId: customer.id, status: health.status, reason: health.reason };
    for (const e of todo) {
      switch (e.kind) {
        case 'consent_lapsed':
          await deps.customers.markConsentLapsed(customer.id, actor, e.reason);
          await deps.outbox.notify(
            'customer.consent_needed',
            { customerId: customer.id, reason: e.reason, missingScopes: health.missingScopes },
            { key: e.key, customerId: customer.id },
          );
          await alertProvider(e.key, customer, 'Consent needed', [
            `Microsoft no longer accepts the consent of ${customer.name} (${customer.id}): ${e.reason}.`,
            `A re-consent invitation goes to ${customer.adminEmail}, again every week until they accept.`,
          ]);
          break;
        case 'reinvite':
          try {
            await deps.invitations.send(customer.id, actor, { idempotencyKey: e.key });
          } catch (err) {
            // Refused by onboarding's rules (e.g. the customer was suspended meanwhile): said, not retried.
            if (!(err instanceof ConflictError) && !(err instanceof DomainError && err.status < 500))
              throw err;
            log.warn('token_reinvite_refused', { customerId: customer.id, error: errorText(err) });
          }
          break;
        case 'access_lost':
          await deps.outbox.notify(
            'customer.access_lost',
            { customerId: customer.id, reason: e.reason },
            { key: e.key, customerId: customer.id },
          );
          await alertProvider(e.key, customer, 'Access lost', [
            `Switchboard can no longer reach the tenant of ${customer.name} (${customer.id}): ${e.reason}.`,
            'Nothing is retried automatically; a new consent (a new invitation) restores access.',
          ]);
          break;
        case 'failing':
          await alertProvider(e.key, customer, 'Access failing', [
            `Checking the access to ${customer.name} (${customer.id}) failed ${e.failures} times in a row: ${health.reason ?? 'unknown'}.`,
          ]);
          break;
        case 'expiring':
          await alertProvider(e.key, customer, 'Access expiring', [
            `The refresh token of ${customer.name} (${customer.id}) expires if unused by ${e.expiresIfUnusedBy}.`,
          ]);
          break;
      }
    }
    const alerting = todo.some((e) => e.kind !== 'reinvite');
    // The alert rule counts this event: one line when the state changes (or a failing streak reaches the limit).
    if (alerting && (changed || health.consecutiveTransientFailures === config.tokens.alertAfterFailures)) {
      log.error('token_verification_failed', facts);
    }
    return todo.map((e) => e.kind);
  };

  let vaultAlertedAt = 0;
  const vaultOutage = async (log: Log, e: DependencyError) => {
    const at = deps.now();
    // One line per instance per quarter hour for the alert rule; one e-mail per hour across instances.
    if (at.getTime() - vaultAlertedAt < 15 * 60_000) return;
    vaultAlertedAt = at.getTime();
    log.error('token_verification_failed', { dependency: 'keyVault', message: e.message });
    const to = config.provider.notifyAddress;
    if (!to) return;
    const hour = at.toISOString().slice(0, 13);
    await deps.mailer
      .send(
        {
          to: [{ address: to }],
          subject: 'Key Vault unavailable: token checks are waiting',
          text: `Switchboard cannot reach Key Vault (${hour}:00 UTC); token verifications are retried and no customer's status changes meanwhile.`,
          html: `<p>${escapeHtml(`Switchboard cannot reach Key Vault (${hour}:00 UTC); token verifications are retried and no customer's status changes meanwhile.`)}</p>`,
        },
        { operationId: operationIdFor(`keyvault-outage:${hour}`) },
      )
      .catch((err: unknown) => log.warn('token_alert_not_sent', { error: errorText(err) }));
  };

  const sendAll = (log: Log, runId?: string) =>
    fanOut({
      pages: deps.customers.pages(),
      skip: timerSkip,
      send: (c) => verifyCustomerToken.send(deps.queues, { customerId: c.id, ...(runId ? { runId } : {}) }),
      describe: (c) => ({ customerId: c.id }),
      concurrency: 16,
      log,
    });

  return {
    async check(customerId, { actor, force = false, log }) {
      const customer = await deps.customers.find(customerId);
      // Removed since the fan-out sent its message: nothing to verify, nothing to retry.
      if (!customer && !force) return { outcome: 'skipped', reason: 'not_found' };
      if (!customer) throw new NotFoundError('Customer', customerId);
      const before = await deps.tokens.get(customer.id);
      if (!force) {
        const skip = timerSkip(customer);
        if (skip) return { outcome: 'skipped', reason: skip };
        if (before?.status === 'gone') return { outcome: 'skipped', reason: 'gone' };
        if (before?.retryAfter && Date.parse(before.retryAfter) > deps.now().getTime()) {
          return { outcome: 'skipped', reason: 'retry_after' };
        }
      }
      let health: TokenHealthView;
      try {
        health = await deps.tokens.verify(customer.id);
      } catch (e) {
        // Key Vault down says nothing about the customer: no status changes, the message is retried,
        // and the provider hears once per hour of outage, not once per customer.
        if (e instanceof DependencyError && e.dependency === 'keyVault') await vaultOutage(log, e);
        // Consent withdrawn by an operator since the fan-out: the timer has nothing to check.
        if (e instanceof ConflictError && !force) return { outcome: 'skipped', reason: 'not_consented' };
        throw e;
      }
      const actions = await act(customer, before, health, actor, log);
      return { outcome: 'verified', health, actions };
    },

    fanOut: (log, runId) => sendAll(log, runId),

    async verifyAll(actor, log) {
      const runId = await deps.runs.start('tokens.verify-all', actor);
      const result = await sendAll(log, runId);
      await deps.runs.setTotal(runId, result.sent);
      await deps.audit.record({ actor, action: 'tokens.verify_all', target: runId, details: { ...result } });
      return { runId, sent: result.sent };
    },

    async statusPage(query) {
      const page = await deps.customers.list({
        pageSize: query.pageSize ?? 100,
        ...(query.continuationToken ? { continuationToken: query.continuationToken } : {}),
      });
      const lines = await Promise.all(
        page.items.map(async (c) => authenticationStatusLine(c, await deps.tokens.get(c.id))),
      );
      return {
        items: query.status ? lines.filter((l) => l.status === query.status) : lines,
        continuationToken: page.continuationToken ?? null,
      };
    },

    async revoke(customerId, actor, reason) {
      const customer = await deps.customers.find(customerId);
      if (!customer) throw new NotFoundError('Customer', customerId);
      const revoked = await deps.customers.revokeAccess(customer.id, actor, reason);
      await deps.tokens.revoked(customer.id);
      return { revoked };
    },
  };
}
