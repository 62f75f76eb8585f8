import { odata } from '@azure/data-tables';
import type { AuditLog } from '../storage/audit';
import type { Clock } from '../clock';
import { NotFoundError } from '../errors';
import { fanOut, type FanOutResult } from '../jobs/fan-out';
import type { Jobs } from '../jobs';
import { errorText, type Log } from '../log';
import type { CustomerService } from '../onboarding/customers';
import { serviceGate } from '../onboarding/lifecycle';
import type { OrderedSubscriptions } from '../orders/subscriptions';
import type { Outbox } from '../outbox';
import type { StorageClients } from '../storage/clients';
import type { TokenService } from '../tokens';
import { APP_UNITS_PER_WINDOW, createGraphBudget } from './budget';
import { createGraphReader, GraphThrottledError, type GraphReader } from './graph';
import type { SyncState, TenantSku } from './model';
import { syncMailbox } from './queues';
import {
  createReplicationRepositories,
  partitionOf,
  SYNC_PARTITION,
  type ReplicationRepositories,
} from './repositories';
import { contentHash, type Reconciliation } from './rules';
import { createSync, SyncDeadlineError } from './sync';
import { licenceComparison, viewGroup, viewSyncState, viewUser } from './views';

/**
 * Replication, the capability: every consented tenant's users, groups, memberships and licences,
 * kept by Graph delta queries over a per-tenant mailbox (see README.md), reconciled with what the
 * ordering system knows, and read by the admin API.
 */
export { syncMailbox } from './queues';
export type { ReplicationRepositories } from './repositories';

const HEARTBEAT_MS = 3600 * 1000;

export interface ReplicationConfig {
  graphBaseUrl: string;
  /** The timer fans out every this many minutes. */
  syncMinutes: number;
  /** A run stops between pages past this and continues in a new message (the function timeout). */
  runBudgetMs: number;
  /** Instances sharing Graph's app-wide budget (each keeps its share). */
  maxInstances: number;
}

export function createReplication(deps: {
  config: ReplicationConfig;
  storage: StorageClients;
  jobs: Jobs;
  customers: Pick<CustomerService, 'find' | 'list' | 'pages'>;
  tokens: Pick<TokenService, 'redeem'>;
  audit: AuditLog;
  outbox: Pick<Outbox, 'notify'>;
  subscriptions: Pick<OrderedSubscriptions, 'list'>;
  now: Clock;
  graph?: GraphReader;
}) {
  const repos: ReplicationRepositories = createReplicationRepositories(deps.storage);
  const mailbox = deps.jobs.mailbox(syncMailbox);
  // Budgets run on the wall clock: their waits are real sleeps and real Graph windows.
  const graph =
    deps.graph ??
    createGraphReader({
      budget: createGraphBudget({
        appUnits: Math.floor(APP_UNITS_PER_WINDOW / Math.max(1, deps.config.maxInstances)),
      }),
    });
  const graphRoot = `${deps.config.graphBaseUrl.replace(/\/+$/, '')}/v1.0`;

  const onReconciliation = async (customerId: string, r: Reconciliation) => {
    const key = `replication|${customerId}|${contentHash(r)}`;
    // The outbox is idempotent by key: a repeated page after a crash queues the callback once.
    const queued = await deps.outbox.notify(r.kind, { customerId, ...r }, { key, customerId });
    if (queued === undefined || queued) {
      await deps.audit.record({
        actor: 'replication',
        action: `replication.${r.kind}`,
        customerId,
        target: r.userId,
        details: { ...r },
      });
    }
  };
  const sync = createSync({
    repos,
    graph,
    graphBaseUrl: deps.config.graphBaseUrl,
    now: deps.now,
    onReconciliation,
  });

  const saveState = async (customerId: string, change: (s: SyncState) => SyncState) => {
    const row = await repos.sync.get(SYNC_PARTITION, partitionOf(customerId));
    await repos.sync.upsert(change(row?.value ?? { customerId, fullSyncs: 0 }));
  };

  /** Licence names and counts (subscribedSkus), written only where changed. */
  const refreshSkus = async (customerId: string, accessToken: string, tenantId: string | undefined) => {
    const page = await graph.get(`${graphRoot}/subscribedSkus`, accessToken, {
      tenantId: tenantId ?? customerId,
    });
    const pk = partitionOf(customerId);
    const existing = new Map<string, string>();
    for await (const r of repos.skus.listAll({ partitionKey: pk })) existing.set(r.value.skuId, r.value.hash);
    for (const s of page.value) {
      const content = {
        skuId: String(s.skuId),
        skuPartNumber: String(s.skuPartNumber ?? ''),
        enabled: Number((s.prepaidUnits as { enabled?: number } | undefined)?.enabled ?? 0),
        consumed: Number(s.consumedUnits ?? 0),
      };
      const hash = contentHash(content);
      if (existing.get(content.skuId) !== hash) await repos.skus.upsert({ ...content, customerId, hash });
    }
  };

  /** One sync run for a tenant: gate, token, delta, state. Never throws for a refusal or throttling. */
  async function runSync(customerId: string, log: Log) {
    const started = deps.now();
    const customer = await deps.customers.find(customerId);
    if (!customer) return { outcome: 'missing' as const };
    const refusal = serviceGate(customer);
    if (refusal) {
      await saveState(customerId, (s) => ({
        ...s,
        lastRunAt: started.toISOString(),
        result: 'skipped',
        reason: refusal,
      }));
      return { outcome: 'skipped' as const, reason: refusal };
    }
    try {
      const access = await deps.tokens.redeem(customer);
      const result = await sync({
        customerId,
        ...(customer.tenantId ? { tenantId: customer.tenantId } : {}),
        accessToken: access.accessToken,
        log,
        deadline: started.getTime() + deps.config.runBudgetMs,
      });
      const licencesTouched = result.full.users || result.counts.usersWritten > 0;
      if (licencesTouched) await refreshSkus(customerId, access.accessToken, customer.tenantId);
      const durationMs = deps.now().getTime() - started.getTime();
      const previous = result.state.lastSucceededAt ? Date.parse(result.state.lastSucceededAt) : 0;
      // A quiet cycle writes nothing; the state's "last run" is refreshed hourly as a heartbeat.
      const heartbeatDue = started.getTime() - previous > HEARTBEAT_MS || result.state.result !== 'succeeded';
      if (!result.quiet || heartbeatDue)
        await repos.sync.upsert({
          ...result.state,
          lastRunAt: started.toISOString(),
          lastSucceededAt: deps.now().toISOString(),
          durationMs,
          result: 'succeeded',
          counts: result.counts,
          reason: result.full.users || result.full.groups ? 'full' : 'delta',
        });
      return { outcome: 'synced' as const, ...result.counts, full: result.full.users || result.full.groups };
    } catch (e) {
      if (e instanceof GraphThrottledError || e instanceof SyncDeadlineError) {
        // Honour Retry-After without sleeping in the worker: the tenant comes back after it.
        const delaySeconds = e instanceof GraphThrottledError ? Math.ceil(e.retryAfterMs / 1000) : 1;
        await mailbox.post(customerId, { payload: { reason: e.name } }, { delaySeconds });
        await saveState(customerId, (s) => ({
          ...s,
          lastRunAt: started.toISOString(),
          result: 'throttled',
          reason: e instanceof GraphThrottledError ? `retry after ${delaySeconds}s` : 'time budget',
        }));
        return { outcome: 'requeued' as const, delaySeconds };
      }
      await saveState(customerId, (s) => ({
        ...s,
        lastRunAt: started.toISOString(),
        durationMs: deps.now().getTime() - started.getTime(),
        result: 'failed',
        lastError: errorText(e),
      })).catch(() => undefined);
      throw e;
    }
  }

  const skuMap = async (customerId: string) => {
    const map = new Map<string, TenantSku>();
    for await (const r of repos.skus.listAll({ partitionKey: partitionOf(customerId) }))
      map.set(r.value.skuId, r.value);
    return map;
  };

  return {
    repos,
    mailbox,
    graph,
    runSync,

    /** The queue worker: drains the tenant's mailbox and runs one sync for all it held. */
    async handle(customerId: string, owner: string, log: Log) {
      let outcome: Record<string, unknown> = {};
      const drained = await mailbox.drain(
        customerId,
        owner,
        async (key, items, l) => {
          outcome = { ...(await runSync(key, l)), requests: items.length };
        },
        log,
      );
      return { customerId, drain: drained.outcome, ...outcome };
    },

    /** Asks for a sync of one tenant (coalesced with whatever else is pending for it). */
    request: (customerId: string, reason: string, id?: string) =>
      mailbox.post(customerId, { ...(id ? { id } : {}), payload: { reason } }),

    /** The timer: one sync request per active, consented customer; the rest are skipped with the reason. */
    async fanOutAll(log: Log, at: Date): Promise<FanOutResult> {
      const slot = Math.floor(at.getTime() / 60_000);
      return fanOut({
        pages: deps.customers.pages(),
        skip: (c) => serviceGate(c),
        // The same id per slot: a timer that fires twice posts one item.
        send: async (c) => {
          await mailbox.post(c.id, { id: `timer-${slot}`, payload: { reason: 'timer' } });
        },
        log,
        describe: (c) => ({ customerId: c.id }),
      });
    },

    // ---- reads ----
    async listUsers(
      customerId: string,
      q: { search?: string; pageSize?: number; continuationToken?: string },
    ) {
      await deps.customers.find(customerId).then((c) => {
        if (!c) throw new NotFoundError('customer', customerId);
      });
      const term = q.search?.trim().toLowerCase();
      // Table Storage has no contains(): a prefix on the lower-cased "name\nsign-in name" field, or a scan.
      const filter = term
        ? odata`(search ge ${term} and search lt ${`${term}~`}) or (userPrincipalName ge ${term} and userPrincipalName lt ${`${term}~`})`
        : undefined;
      const page = await repos.users.list({
        partitionKey: partitionOf(customerId),
        ...(filter ? { filter: `(${filter})` } : {}),
        pageSize: q.pageSize ?? 100,
        ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
      });
      const skus = await skuMap(customerId);
      return {
        items: page.items.map((r) => viewUser(r.value, skus)),
        continuationToken: page.continuationToken,
      };
    },

    async getUser(customerId: string, userId: string) {
      const row = await repos.users.get(partitionOf(customerId), userId.toLowerCase());
      if (!row) throw new NotFoundError('user', userId);
      const groups = [];
      for await (const m of repos.members.listAll({
        partitionKey: partitionOf(customerId),
        filter: odata`memberId eq ${row.value.id}`,
      })) {
        const g = await repos.groups.get(partitionOf(customerId), m.value.groupId);
        if (g) groups.push({ id: g.value.id, displayName: g.value.displayName });
      }
      return { ...viewUser(row.value, await skuMap(customerId)), groups };
    },

    async listGroups(customerId: string, q: { pageSize?: number; continuationToken?: string }) {
      const page = await repos.groups.list({
        partitionKey: partitionOf(customerId),
        pageSize: q.pageSize ?? 100,
        ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
      });
      return { items: page.items.map((r) => viewGroup(r.value)), continuationToken: page.continuationToken };
    },

    async getGroup(
      customerId: string,
      groupId: string,
      q: { pageSize?: number; continuationToken?: string },
    ) {
      const row = await repos.groups.get(partitionOf(customerId), groupId.toLowerCase());
      if (!row) throw new NotFoundError('group', groupId);
      const id = row.value.id;
      const page = await repos.members.list({
        partitionKey: partitionOf(customerId),
        filter: odata`RowKey ge ${`${id}|`} and RowKey lt ${`${id}}`}`,
        pageSize: q.pageSize ?? 500,
        ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
      });
      return {
        ...viewGroup(row.value),
        members: page.items.map((m) => m.value.memberId),
        continuationToken: page.continuationToken,
      };
    },

    async syncState(customerId: string) {
      const customer = await deps.customers.find(customerId);
      if (!customer) throw new NotFoundError('customer', customerId);
      const row = await repos.sync.get(SYNC_PARTITION, partitionOf(customerId));
      const skus = [...(await skuMap(customerId)).values()];
      return {
        customerId: customer.id,
        gate: serviceGate(customer) ?? 'active',
        ...viewSyncState(row?.value),
        licences: licenceComparison(skus, await deps.subscriptions.list(customerId)),
      };
    },
  };
}

export type Replication = ReturnType<typeof createReplication>;
