import { drainAndReport } from '../jobs/mailbox';
import { AsyncLocalStorage } from 'node:async_hooks';
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
import type { SecretStore } from '../secrets/vault';
import { APP_UNITS_PER_WINDOW, createGraphBudget } from './budget';
import {
  createGraphReader,
  GraphHttpError,
  GraphThrottledError,
  type GraphReader,
  type GraphTenant,
} from './graph';
import type { SyncState, TenantSku } from './model';
import { createSubscriptionRepository } from './notification-rows';
import { createNotifications } from './notifications';
import { syncMailbox, type SyncRequest } from './queues';
import {
  createReplicationRepositories,
  partitionOf,
  SYNC_PARTITION,
  type ReplicationRepositories,
} from './repositories';
import { createRoleSync, type RoleCounts } from './roles';
import { chunks, contentHash, reconciliationKey, refreshDue, type Reconciliation } from './rules';
import { createSync, SyncDeadlineError } from './sync';
import type { PagingQuery } from '../http/paging';
import {
  licenceComparison,
  objectIdSchema,
  viewGroup,
  viewSyncState,
  viewUser,
  viewVoice,
  type UserQuery,
} from './views';
import { createVoiceRefresh, VoiceForbiddenError, type VoiceCounts } from './voice';
import { createChanges } from './changes';

/**
 * Replication, the capability: every consented tenant's users, groups, memberships and licences,
 * kept by Graph delta queries over a per-tenant mailbox (see README.md), reconciled with what the
 * ordering system knows, and read by the admin API.
 */
export { syncMailbox } from './queues';
export { pushWake } from './changes';
export type { ReplicationRepositories } from './repositories';

const HEARTBEAT_MS = 3600 * 1000;

export interface ReplicationConfig {
  graphBaseUrl: string;
  /** The timer fans out every this many minutes. */
  syncMinutes: number;
  /** A run stops between pages past this and continues in a new message (the function timeout). */
  runBudgetMs: number;
  /** Teams voice configurations (no delta) are read again after this many minutes (default 60). */
  voiceMinutes: number;
  /** Directory role memberships (directoryRoles delta) are checked after this many minutes (default 15). */
  rolesMinutes: number;
  /** The app's public address: Graph delivers change notifications under it. */
  publicBaseUrl: string;
  /** Queued changes go to Microsoft 365 after this many quiet minutes (or at once on "replicate"). */
  pushQuietMinutes: number;
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
  secrets: Pick<SecretStore, 'get' | 'set'>;
  now: Clock;
  graph?: GraphReader;
  /**
   * The fetch Graph writes and subscription calls go through (tests wrap it to count calls, or to cut
   * storage off right after an effect).
   */
  graphFetch?: typeof fetch;
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
  // Subscription calls spend the budget of the tenant whose run makes them (an async-local scope, so
  // runs of different tenants in one process do not mix).
  const tenantScope = new AsyncLocalStorage<GraphTenant>();
  const baseFetch = deps.graphFetch ?? fetch;
  const budgetedFetch: typeof fetch = async (input, init) => {
    const tenant = tenantScope.getStore();
    if (tenant) await graph.spend?.(input instanceof Request ? input.url : String(input), tenant);
    return baseFetch(input, init);
  };
  const notifications = createNotifications({
    subscriptions: createSubscriptionRepository(deps.storage),
    secrets: deps.secrets,
    graphRoot,
    publicBaseUrl: deps.config.publicBaseUrl,
    post: (customerId, item, options) => mailbox.post(customerId, item, options),
    now: deps.now,
    fetch: budgetedFetch,
  });

  const onReconciliation = async (customerId: string, r: Reconciliation, version: string) => {
    const key = reconciliationKey(customerId, r, version);
    await deps.outbox.notify(r.kind, { customerId, ...r }, { key, customerId });
    await deps.audit.record({
      actor: 'replication',
      action: `replication.${r.kind}`,
      customerId,
      target: r.userId,
      details: { ...r },
      key,
    });
  };
  const sync = createSync({
    repos,
    graph,
    graphBaseUrl: deps.config.graphBaseUrl,
    now: deps.now,
    onReconciliation,
  });

  const voice = createVoiceRefresh({ repos, graph, graphBaseUrl: deps.config.graphBaseUrl, now: deps.now });
  const syncRoles = createRoleSync({
    repos,
    graph,
    graphBaseUrl: deps.config.graphBaseUrl,
    now: deps.now,
    onReconciliation,
  });

  /**
   * What user delta cannot tell, on slower schedules decided inside the tenant's run (no timer of
   * their own, no table scan): directory roles when REPLICATION_ROLES_MINUTES have passed, Teams
   * voice when REPLICATION_VOICE_MINUTES have. A grant without the permission is noted in the state
   * and retried on the next schedule, never failing the run; throttling propagates like delta's.
   */
  /** The sync state's fields the roles round owns (its result merges with the voice refresh's). */
  const rolesFields = (s: SyncState) => ({
    rolesDeltaLink: s.rolesDeltaLink,
    rolesLinkSavedAt: s.rolesLinkSavedAt,
    rolesCheckedAt: s.rolesCheckedAt,
    rolesError: s.rolesError,
  });
  const slowRefreshes = async (customerId: string, accessToken: string, state: SyncState, log: Log) => {
    const rolesDue = refreshDue(state.rolesCheckedAt, deps.now(), deps.config.rolesMinutes);
    const voiceDue = refreshDue(state.voiceRefreshedAt, deps.now(), deps.config.voiceMinutes);
    // Independent reads of different tables: side by side, so a first run is not their sum.
    const [rolesPart, voicePart] = await Promise.allSettled([
      (async () => {
        if (!rolesDue) return undefined;
        try {
          const r = await syncRoles({ customerId, accessToken, state, log });
          return { fields: rolesFields(r.state), counts: r.counts as RoleCounts | undefined };
        } catch (e) {
          if (!(e instanceof GraphHttpError && e.status === 403)) throw e;
          return {
            fields: { rolesCheckedAt: deps.now().toISOString(), rolesError: errorText(e) },
            counts: undefined,
          };
        }
      })(),
      (async () => {
        if (!voiceDue) return undefined;
        try {
          const counts: VoiceCounts | undefined = await voice.refreshTenant(customerId, accessToken);
          return { fields: { voiceRefreshedAt: deps.now().toISOString(), voiceError: undefined }, counts };
        } catch (e) {
          if (!(e instanceof VoiceForbiddenError)) throw e;
          return {
            fields: { voiceRefreshedAt: deps.now().toISOString(), voiceError: e.message },
            counts: undefined,
          };
        }
      })(),
    ]);
    if (rolesPart.status === 'rejected') throw rolesPart.reason;
    if (voicePart.status === 'rejected') throw voicePart.reason;
    // A field a part cleared (a past error) goes; none is written as undefined.
    const merged = { ...state, ...rolesPart.value?.fields, ...voicePart.value?.fields };
    const next = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as SyncState;
    return {
      ran: rolesDue || voiceDue,
      state: next,
      roles: rolesPart.value?.counts,
      voice: voicePart.value?.counts,
    };
  };

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
  async function runSync(customerId: string, log: Log, requests: SyncRequest[] = []) {
    const started = deps.now();
    const customer = await deps.customers.find(customerId);
    if (!customer) return { outcome: 'missing' as const };
    const refusal = serviceGate(customer);
    if (refusal) {
      await notifications
        .retire(customerId, async () => (await deps.tokens.redeem(customer)).accessToken, log)
        .catch((e: unknown) =>
          log.warn('replication_subscriptions_not_retired', { customerId, error: errorText(e) }),
        );
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
      // Subscribed and recorded before the delta reads: an earlier change is in the delta, a later one notified.
      const graphTenant = { tenantId: customer.tenantId ?? customerId };
      const subscriptions = await tenantScope
        .run(graphTenant, () => notifications.maintain(customerId, access.accessToken, requests, log))
        .catch((e: unknown) => {
          log.warn('replication_subscriptions_unchecked', { customerId, error: errorText(e) });
          return { outcome: 'failed' as const };
        });
      const result = await sync({
        customerId,
        ...(customer.tenantId ? { tenantId: customer.tenantId } : {}),
        accessToken: access.accessToken,
        log,
        deadline: started.getTime() + deps.config.runBudgetMs,
      });
      const licencesTouched = result.full.users || result.counts.usersWritten > 0;
      const [slow] = await Promise.all([
        slowRefreshes(customerId, access.accessToken, result.state, log),
        licencesTouched ? refreshSkus(customerId, access.accessToken, customer.tenantId) : undefined,
      ]);
      const durationMs = deps.now().getTime() - started.getTime();
      const previous = result.state.lastSucceededAt ? Date.parse(result.state.lastSucceededAt) : 0;
      // A quiet cycle writes nothing; the state's "last run" is refreshed hourly as a heartbeat.
      const heartbeatDue = started.getTime() - previous > HEARTBEAT_MS || result.state.result !== 'succeeded';
      if (!result.quiet || heartbeatDue || slow.ran)
        await repos.sync.upsert({
          ...slow.state,
          lastRunAt: started.toISOString(),
          lastSucceededAt: deps.now().toISOString(),
          durationMs,
          result: 'succeeded',
          counts: result.counts,
          reason: result.full.users || result.full.groups ? 'full' : 'delta',
        });
      return {
        outcome: 'synced' as const,
        ...result.counts,
        full: result.full.users || result.full.groups,
        ...(slow.roles ? { roles: slow.roles } : {}),
        ...(slow.voice ? { voice: slow.voice } : {}),
        subscriptions: subscriptions.outcome,
      };
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

  const skuMap = async (pk: string) => {
    const map = new Map<string, TenantSku>();
    for await (const r of repos.skus.listAll({ partitionKey: pk })) map.set(r.value.skuId, r.value);
    return map;
  };
  /**
   * Primary numbers of one page of users. Voice rows share the users' RowKeys, so an unfiltered page
   * (a contiguous run of ids) is one range read; a search's scattered ids are point reads.
   */
  const primaryNumbers = async (pk: string, ids: string[], contiguous: boolean) => {
    const numbers = new Map<string, string | null>();
    const [first, last] = [ids[0], ids[ids.length - 1]];
    if (!first || !last) return numbers;
    if (contiguous) {
      for await (const v of repos.voice.listAll({
        partitionKey: pk,
        filter: odata`RowKey ge ${first} and RowKey le ${last}`,
      }))
        numbers.set(v.value.userId, v.value.primaryNumber);
    } else {
      for (const some of chunks(ids, 50))
        await Promise.all(
          some.map(async (id) =>
            numbers.set(id, (await repos.voice.get(pk, id))?.value.primaryNumber ?? null),
          ),
        );
    }
    return numbers;
  };
  /** The tenant's partition, or 404 for a customer we do not have (and for ids no customer can have). */
  const knownCustomer = async (customerId: string) => {
    const customer = await deps.customers.find(customerId);
    if (!customer) throw new NotFoundError('customer', customerId);
    return partitionOf(customer.id);
  };

  async function refreshVoiceUser(customerId: string, userId: string) {
    const customer = await deps.customers.find(customerId);
    if (!customer) return { outcome: 'missing' as const };
    const refusal = serviceGate(customer);
    if (refusal) return { outcome: 'skipped' as const, reason: refusal };
    const access = await deps.tokens.redeem(customer);
    try {
      return await voice.refreshUser(customerId, userId, access.accessToken);
    } catch (e) {
      if (e instanceof GraphThrottledError)
        return { outcome: 'throttled' as const, retryAfterSeconds: Math.ceil(e.retryAfterMs / 1000) };
      if (e instanceof VoiceForbiddenError) return { outcome: 'forbidden' as const, reason: e.message };
      throw e;
    }
  }

  const request = (customerId: string, reason: string, id?: string) =>
    mailbox.post(customerId, { ...(id ? { id } : {}), payload: { reason } });

  const changes = createChanges({
    config: { graphBaseUrl: deps.config.graphBaseUrl, pushQuietMinutes: deps.config.pushQuietMinutes },
    storage: deps.storage,
    jobs: deps.jobs,
    customers: deps.customers,
    tokens: deps.tokens,
    audit: deps.audit,
    now: deps.now,
    requestSync: request,
    refreshVoice: (customerId, userId) => refreshVoiceUser(customerId, userId),
    ...(deps.graphFetch ? { fetch: deps.graphFetch } : {}),
  });

  return {
    repos,
    mailbox,
    graph,
    runSync,
    notifications,
    /** Changes back: queued edits pushed to Microsoft 365 (see README.md). */
    changes,

    /** The queue worker: drains the tenant's mailbox and runs one sync for all it held. */
    async handle(customerId: string, owner: string, log: Log) {
      const report = await drainAndReport(
        mailbox,
        customerId,
        owner,
        (key, items, l) =>
          runSync(
            key,
            l,
            items.map((i) => i.payload),
          ),
        log,
      );
      return { customerId, ...report };
    },

    /**
     * Reads one user's Teams voice configuration again, right after a change to them was pushed
     * (numbers and policies have no delta). Written only if it changed. Throttling is answered,
     * not slept through: the caller retries after `retryAfterSeconds`.
     */
    refreshVoiceUser,

    /** Asks for a sync of one tenant (coalesced with whatever else is pending for it). */
    request,

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

    // ---- reads (operators' admin API) ----

    /** Users of the tenant, paged; `search` is a prefix of the display name or the sign-in name. */
    async listUsers(customerId: string, q: Partial<UserQuery>) {
      const pk = await knownCustomer(customerId);
      const term = q.search?.trim().toLowerCase();
      // Table Storage has no contains(): a range on the lower-cased name and on the sign-in name.
      const filter = term
        ? odata`(search ge ${term} and search lt ${`${term}\uffff`}) or (signInName ge ${term} and signInName lt ${`${term}\uffff`})`
        : undefined;
      const page = await repos.users.list({
        partitionKey: pk,
        ...(filter ? { filter: `(${filter})` } : {}),
        pageSize: q.pageSize ?? 100,
        ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
      });
      const skus = await skuMap(pk);
      const numbers = await primaryNumbers(
        pk,
        page.items.map((r) => r.value.id),
        filter === undefined,
      );
      return {
        items: page.items.map((r) => ({
          ...viewUser(r.value, skus),
          primaryNumber: numbers.get(r.value.id) ?? null,
        })),
        continuationToken: page.continuationToken ?? null,
      };
    },

    /** One user with licence names and the groups they are a member of. */
    async getUser(customerId: string, userId: string) {
      const pk = await knownCustomer(customerId);
      const id = objectIdSchema.safeParse(userId);
      const row = id.success ? await repos.users.get(pk, id.data) : undefined;
      if (!row) throw new NotFoundError('user', userId);
      // An operator's read of one partition: memberships are keyed by group, so this filters the tenant's.
      const groupIds: string[] = [];
      for await (const m of repos.members.listAll({
        partitionKey: pk,
        filter: odata`memberId eq ${row.value.id}`,
      }))
        groupIds.push(m.value.groupId);
      const groups = [];
      for (const gid of groupIds) {
        const g = await repos.groups.get(pk, gid);
        if (g) groups.push({ id: g.value.id, displayName: g.value.displayName });
      }
      const voiceRow = await repos.voice.get(pk, row.value.id);
      return { ...viewUser(row.value, await skuMap(pk)), groups, voice: viewVoice(voiceRow?.value) };
    },

    async listGroups(customerId: string, q: Partial<PagingQuery>) {
      const pk = await knownCustomer(customerId);
      const page = await repos.groups.list({
        partitionKey: pk,
        pageSize: q.pageSize ?? 100,
        ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
      });
      return {
        items: page.items.map((r) => viewGroup(r.value)),
        continuationToken: page.continuationToken ?? null,
      };
    },

    /** One group with one page of its members (a range of the tenant's membership rows). */
    async getGroup(customerId: string, groupId: string, q: Partial<PagingQuery>) {
      const pk = await knownCustomer(customerId);
      const gid = objectIdSchema.safeParse(groupId);
      const row = gid.success ? await repos.groups.get(pk, gid.data) : undefined;
      if (!row) throw new NotFoundError('group', groupId);
      const id = row.value.id;
      const page = await repos.members.list({
        partitionKey: pk,
        filter: odata`RowKey ge ${`${id}|`} and RowKey lt ${`${id}}`}`,
        pageSize: q.pageSize ?? 500,
        ...(q.continuationToken ? { continuationToken: q.continuationToken } : {}),
      });
      return {
        ...viewGroup(row.value),
        members: page.items.map((m) => m.value.memberId),
        continuationToken: page.continuationToken ?? null,
      };
    },

    /** The tenant's sync state, and its licence counts beside what was ordered. */
    async syncState(customerId: string) {
      const customer = await deps.customers.find(customerId);
      if (!customer) throw new NotFoundError('customer', customerId);
      const pk = partitionOf(customer.id);
      const row = await repos.sync.get(SYNC_PARTITION, pk);
      const skus = [...(await skuMap(pk)).values()];
      const subs = await notifications.read(customer.id);
      return {
        customerId: customer.id,
        gate: serviceGate(customer) ?? 'active',
        ...viewSyncState(row?.value),
        notifications: {
          usersExpiresAt: subs?.users?.expiresAt ?? null,
          groupsExpiresAt: subs?.groups?.expiresAt ?? null,
          lastError: subs?.lastError ?? null,
        },
        licences: licenceComparison(skus, await deps.subscriptions.list(customer.id)),
      };
    },
  };
}

export type Replication = ReturnType<typeof createReplication>;
