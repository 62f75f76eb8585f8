import { drainAndReport } from '../../jobs/mailbox';
import { randomBytes } from 'node:crypto';
import { odata } from '@azure/data-tables';
import type { Clock } from '../../clock';
import { ConflictError, NotFoundError } from '../../errors';
import { parseWith } from '../../http/requests';
import { writeScopes } from '../../identity/scopes';
import type { Jobs } from '../../jobs';
import { errorText, type Log } from '../../log';
import type { CustomerService } from '../../onboarding/customers';
import { serviceGate } from '../../onboarding/lifecycle';
import type { AuditLog } from '../../storage/audit';
import type { StorageClients } from '../../storage/clients';
import type { TokenService } from '../../tokens';
import { TokenUnavailableError } from '../../tokens/service';
import { partitionOf } from '../repositories';
import { createGraphWriter } from './graph-writes';
import type { ChangeRow } from './model';
import { createPush, POLL_SECONDS } from './push';
import { pushMailbox } from './queues';
import { createChangeRepositories, PUSH_PARTITION } from './repositories';
import { changesRequestSchema, nextPushAt, rowsOf } from './rules';
import { changeListQuerySchema, viewChange } from './views';

/**
 * Changes back (see ../README.md): operators' edits to a customer's users are queued, and pushed to
 * Microsoft 365 by the tenant's push worker after a quiet period (REPLICATION_PUSH_QUIET_MINUTES) or
 * at once on "replicate"; then a delta sync is asked for, so the cache shows what Microsoft has.
 */
export { pushMailbox, pushWake } from './queues';

/** A tenant whose consent is missing is looked at again this often (re-consent also brings a push). */
const CONSENT_RETRY_MS = 15 * 60_000;
/** A push whose message was lost is woken by the sweep after this long. */
const STRANDED_MS = 10 * 60_000;

export interface ChangesConfig {
  graphBaseUrl: string;
  pushQuietMinutes: number;
}

export function createChanges(deps: {
  config: ChangesConfig;
  storage: StorageClients;
  jobs: Jobs;
  customers: Pick<CustomerService, 'find'>;
  tokens: Pick<TokenService, 'redeem'>;
  audit: AuditLog;
  now: Clock;
  /** Asks replication for a delta sync of the tenant after a push. */
  requestSync: (customerId: string, reason: string) => Promise<unknown>;
  /** Teams voice has no delta: a user whose number was just assigned is read again at once. */
  refreshVoice: (customerId: string, userId: string) => Promise<unknown>;
  fetch?: typeof fetch;
}) {
  const repos = createChangeRepositories(deps.storage, deps.jobs.due);
  const mailbox = deps.jobs.mailbox(pushMailbox);
  const writer = createGraphWriter({
    graphBaseUrl: deps.config.graphBaseUrl,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  });
  const push = createPush({
    repos,
    writer,
    now: deps.now,
    finished: (rows) => auditPushed(rows),
  });
  const iso = (ms: number) => new Date(deps.now().getTime() + ms).toISOString();

  // The sweep wakes a tenant's push when it falls due (quiet period over, Retry-After passed, a poll).
  repos.pushes.requeueWhenDue({
    isOpen: (p) => p.dueAt !== undefined,
    bump: (p) => ({ ...p, dueAt: iso(STRANDED_MS), updatedAt: iso(0) }),
    send: async (p) => {
      await mailbox.post(p.customerId, { payload: { reason: 'due' } });
    },
    log: (p, log) => log.info('replication_push_due', { customerId: p.customerId }),
  });

  /**
   * When the tenant's next push is due, from what is open (nothing open: no due time). Written with
   * the ETag of the push row read before the open changes: an `enqueue` in between (it writes the push
   * row again once its rows exist) makes the write fail, and it is worked out again.
   */
  async function schedule(customerId: string, soonest?: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await repos.pushes.get(PUSH_PARTITION, partitionOf(customerId));
      const open = (await push.readOpen(customerId)).map((r) => r.value);
      let next = nextPushAt(open);
      if (soonest && (next === undefined || soonest < next)) next = soonest;
      // Never in the past: the sweep takes it on its next round.
      const value = { customerId, ...(next ? { dueAt: next } : {}), updatedAt: iso(0) };
      try {
        if (current) await repos.pushes.update(value, current.etag);
        else await repos.pushes.create(value);
        return;
      } catch (e) {
        if (!(e instanceof ConflictError) || attempt >= 5) throw e;
      }
    }
  }

  async function customerOr404(customerId: string) {
    const c = await deps.customers.find(customerId);
    if (!c) throw new NotFoundError('customer', customerId);
    return c;
  }

  /**
   * One entry per change that reached a final state, written before the change is saved final and
   * keyed by change and status: a push repeated after a crash between the two records it once.
   */
  async function auditPushed(rows: ChangeRow[]): Promise<void> {
    for (const r of rows) {
      await deps.audit.record({
        key: `replication.changes.pushed|${r.customerId.toLowerCase()}|${r.id}|${r.status}`,
        actor: r.actor,
        action: 'replication.changes.pushed',
        customerId: r.customerId,
        details: {
          id: r.id,
          kind: r.kind,
          userId: r.userId,
          status: r.status,
          ...(r.status === 'failed' ? { code: r.result?.code ?? null } : {}),
        },
      });
    }
  }

  /** One push of one tenant. Never throws for throttling, consent or a refusal: those are states. */
  async function pushTenant(customerId: string, pushNow: boolean, log: Log) {
    const customer = await deps.customers.find(customerId);
    if (!customer) return { outcome: 'missing' as const };
    const gate = serviceGate(customer);
    if (gate === 'needs_consent' || gate === 'not_consented') {
      const waiting = await push.waitForConsent(
        customerId,
        `The customer's consent is ${gate.replace('_', ' ')}.`,
        CONSENT_RETRY_MS,
        pushNow,
      );
      await schedule(customerId);
      return { outcome: 'waiting_consent' as const, waiting };
    }
    if (gate) {
      // Suspended or cancelled: nothing goes to the tenant; the changes stay queued.
      await schedule(customerId, iso(CONSENT_RETRY_MS));
      return { outcome: 'skipped' as const, reason: gate };
    }
    let token: string;
    try {
      const access = await deps.tokens.redeem(customer);
      // Token health asks for `.default`: a grant made before the write permissions were asked for
      // shows them missing (scope drift), and token health invites the admin to consent again.
      const lacking = writeScopes.filter((w) =>
        access.missingScopes.some((m) => m.toLowerCase() === w.toLowerCase()),
      );
      if (lacking.length > 0) {
        const waiting = await push.waitForConsent(
          customerId,
          `The grant lacks ${lacking.map((s) => s.split('/').pop()).join(', ')}: a re-consent is needed.`,
          CONSENT_RETRY_MS,
          pushNow,
        );
        await schedule(customerId);
        return { outcome: 'waiting_consent' as const, waiting, lacking };
      }
      token = access.accessToken;
    } catch (e) {
      if (e instanceof TokenUnavailableError && e.failure.class === 'needs_consent') {
        const waiting = await push.waitForConsent(
          customerId,
          'Microsoft asks for consent again.',
          CONSENT_RETRY_MS,
          pushNow,
        );
        await schedule(customerId);
        return { outcome: 'waiting_consent' as const, waiting };
      }
      throw e;
    }
    const s = await push.run(customerId, token, pushNow);
    if (s.succeeded > 0) await deps.requestSync(customerId, 'pushed');
    const numbered = new Set(
      s.finished.filter((c) => c.kind === 'number' && c.status === 'succeeded').map((c) => c.userId),
    );
    // Best effort: the hourly refresh makes good a refresh that fails here.
    for (const userId of numbered) await deps.refreshVoice(customerId, userId).catch(() => undefined);
    await schedule(customerId);
    // A poll or a short Retry-After: wake sooner than the sweep's minute.
    if (s.polling > 0)
      await mailbox.post(customerId, { payload: { reason: 'poll' } }, { delaySeconds: POLL_SECONDS });
    log.info('replication_pushed', { customerId, ...s, finished: s.finished.length });
    const { finished: _f, ...counts } = s;
    return { outcome: 'pushed' as const, ...counts };
  }

  return {
    repos,
    mailbox,
    pushTenant,

    /** The queue worker: drains the tenant's push mailbox and makes one push for all it held. */
    async handle(customerId: string, owner: string, log: Log) {
      const report = await drainAndReport(
        mailbox,
        customerId,
        owner,
        async (key, items, l) => {
          try {
            return await pushTenant(
              key,
              items.some((i) => i.payload.now === true),
              l,
            );
          } catch (e) {
            l.warn('replication_push_failed', { customerId: key, error: errorText(e) });
            throw e;
          }
        },
        log,
      );
      return { customerId, ...report };
    },

    /** Queues edits (validated; an unknown customer is 404). They go after the quiet period. */
    async enqueue(customerId: string, input: unknown, actor: string) {
      const v = parseWith(changesRequestSchema, input);
      const customer = await customerOr404(customerId);
      const at = deps.now().toISOString();
      const notBefore = iso(deps.config.pushQuietMinutes * 60_000);
      const stamp = `${at}|${randomBytes(4).toString('hex')}`;
      const idOf = (n: number) => `${stamp}|${String(n).padStart(3, '0')}`;
      const rows: ChangeRow[] = [];
      for (const c of v.changes)
        rows.push(...rowsOf(c, { customerId: customer.id, actor, at, notBefore, idOf }, rows.length));
      // The tenant's push is due at the end of the quiet period: indexed before the rows exist, so the
      // sweep finds them even if this request dies right after writing them.
      await repos.pushes.upsert({ customerId: customer.id, dueAt: notBefore, updatedAt: at });
      for (let i = 0; i < rows.length; i += 100)
        await repos.changes.transaction(
          rows.slice(i, i + 100).map((value) => ({ op: 'create' as const, value })),
        );
      // Written again now the rows exist: a push that read the open changes before they did fails its
      // conditional write (and looks again), or, if it wrote already, has its due time put back here.
      await repos.pushes.mutate(PUSH_PARTITION, partitionOf(customer.id), (p) => ({
        ...p,
        dueAt: p.dueAt !== undefined && p.dueAt < notBefore ? p.dueAt : notBefore,
        updatedAt: deps.now().toISOString(),
      }));
      await deps.audit.record({
        actor,
        action: 'replication.changes.queued',
        customerId: customer.id,
        details: { count: rows.length, ids: rows.map((r) => r.id), notBefore },
      });
      const base = `/api/customers/${encodeURIComponent(customer.id)}`;
      return {
        customerId: customer.id,
        ids: rows.map((r) => r.id),
        notBefore,
        links: { changes: `${base}/changes`, replicate: `${base}/replicate` },
      };
    },

    /** One page of the tenant's changes, newest last, optionally by status. */
    async list(customerId: string, query: unknown) {
      const q = parseWith(changeListQuerySchema, query, 'query');
      await customerOr404(customerId);
      const page = await repos.changes.list({
        partitionKey: partitionOf(customerId),
        ...(q.status ? { filter: odata`status eq ${q.status}` } : {}),
        pageSize: q.pageSize ?? 100,
        ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
      });
      return {
        items: page.items.map((r) => viewChange(r.value)),
        continuationToken: page.continuationToken ?? null,
      };
    },

    /** "Replicate now": push the tenant's queued changes at once, then a delta sync. */
    async replicate(customerId: string, actor: string) {
      const customer = await customerOr404(customerId);
      const open = (await push.readOpen(customer.id)).length;
      await mailbox.post(customer.id, {
        payload: { reason: `replicate by ${actor}`.slice(0, 200), now: true },
      });
      await deps.requestSync(customer.id, 'replicate');
      await deps.audit.record({
        actor,
        action: 'replication.replicate',
        customerId: customer.id,
        details: { open },
      });
      return {
        customerId: customer.id,
        open,
        links: { changes: `/api/customers/${encodeURIComponent(customer.id)}/changes` },
      };
    },

    /** The push row of a tenant (tests and the sync state read when the next push is due). */
    nextPush: async (customerId: string) =>
      (await repos.pushes.get(PUSH_PARTITION, partitionOf(customerId)))?.value.dueAt,
  };
}

export type Changes = ReturnType<typeof createChanges>;
