import { randomBytes } from 'node:crypto';
import { expiring } from '../cache';
import type { Clock } from '../clock';
import { errorText, type Log } from '../log';
import type { SecretStore } from '../secrets/vault';
import type { TableRepository } from '../storage/table-repository';
import {
  checkDue,
  clientStateFor,
  customerOfClientState,
  GATHER_SECONDS,
  isExpired,
  keyIdOf,
  lifecycleEvents,
  newExpiry,
  readDelivery,
  renewalDue,
  resourceOf,
  RETRY_AFTER_FAILURE_MS,
  subscribedResources,
  type LifecycleEvent,
  type SubscribedResource,
} from './notification-rules';
import { SUBSCRIPTIONS_ROW, type SubscriptionRef, type TenantSubscriptions } from './notification-rows';
import { partitionOf } from './repositories';
import type { SyncRequest } from './queues';
import { inParallel } from './sync';

/**
 * Graph change notifications for each tenant's /users and /groups (README.md, "Change
 * notifications"). A notification is only a hint: it asks for a delta run of its tenant through the
 * sync mailbox, which coalesces a storm into one run; the timer stays the safety net. The
 * subscriptions are kept by the tenant's own run (made with the customer's delegated token, renewed
 * well before they expire, reauthorized when Graph asks), so no timer and no table scan is needed.
 */

/** The Key Vault secret the clientState MACs are keyed with; made by the first run that subscribes. */
export const CLIENT_STATE_KEY_SECRET = 'replication-notification-key';
const KEY_TTL_MS = 10 * 60_000;
/** How long a receiving instance believes the key absent before reading the vault again. */
export const KEY_ABSENT_RECHECK_MS = 5_000;
/**
 * Tenants of one delivery handled at once (each: a point read, a mailbox post). Graph wants the answer
 * within 3 s and throttles, then drops, a slow endpoint; one delivery can name many tenants.
 */
export const RECEIVE_CONCURRENCY = 8;
/** Graph allows 100 subscriptions per app per tenant: a few pages at most. */
const MAX_LIST_PAGES = 50;
export const NOTIFICATION_ROUTE = 'api/replication/notifications';
export const LIFECYCLE_ROUTE = 'api/replication/lifecycle';

export class SubscriptionGraphError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(`Graph ${operation} answered HTTP ${status}${code ? ` ${code}` : ''}.`);
    this.name = 'SubscriptionGraphError';
  }
}

export interface NotificationDeps {
  subscriptions: TableRepository<TenantSubscriptions>;
  secrets: Pick<SecretStore, 'get' | 'set'>;
  /** `<graph base>/v1.0`. */
  graphRoot: string;
  publicBaseUrl: string;
  post: (
    customerId: string,
    item: { id: string; payload: SyncRequest },
    options?: { delaySeconds?: number },
  ) => Promise<unknown>;
  now: Clock;
  fetch?: typeof fetch;
}

export interface Received {
  accepted: number;
  /** Wrong or missing clientState. */
  rejected: number;
  /** A valid clientState but a subscription we do not hold (an old one, or made elsewhere). */
  unknown: number;
  malformed: number;
  tenants: number;
}

export function createNotifications(deps: NotificationDeps) {
  const doFetch = deps.fetch ?? fetch;
  const repo = deps.subscriptions;
  const notificationUrl = `${deps.publicBaseUrl}/${NOTIFICATION_ROUTE}`;
  const lifecycleUrl = `${deps.publicBaseUrl}/${LIFECYCLE_ROUTE}`;

  /**
   * The key as Key Vault holds it, or null. Only read here: the anonymous routes use this, and a
   * request from anyone must never write to the vault. Absence is remembered briefly, so a flood of
   * deliveries to a deployment that never subscribed costs one vault read per few seconds.
   */
  const heldKey = expiring(async () => (await deps.secrets.get(CLIENT_STATE_KEY_SECRET)) ?? null, {
    ttlMs: (v) => (v ? KEY_TTL_MS : KEY_ABSENT_RECHECK_MS),
  });

  /** The run's key: made when absent (only a tenant's run, about to subscribe, gets here). */
  const keyForSubscribing = async (): Promise<string> => {
    const cached = await heldKey.get();
    if (cached) return cached;
    const held = await heldKey.refresh(0);
    if (held) return held;
    await deps.secrets.set(CLIENT_STATE_KEY_SECRET, randomBytes(32).toString('base64url'), {
      contentType: 'replication change notification clientState key',
    });
    // Read back: when two instances raced, both now use the version Key Vault kept last.
    const kept = await heldKey.refresh(0);
    if (!kept) throw new Error('The clientState key could not be read back from Key Vault.');
    return kept;
  };

  const graph = async (
    operation: string,
    method: string,
    path: string,
    token: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> => {
    // A nextLink is absolute; the token only ever goes to Graph itself.
    const url = path.startsWith(`${deps.graphRoot}/`) ? path : `${deps.graphRoot}${path}`;
    const res = await doFetch(url, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      // Graph holds a create until our endpoint answered its validation (up to 10 s per URL).
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = {};
    }
    if (res.status >= 400 && res.status !== 404) {
      throw new SubscriptionGraphError(
        operation,
        res.status,
        (json.error as { code?: string } | undefined)?.code,
      );
    }
    return { status: res.status, json };
  };

  const removeAtGraph = async (id: string, token: string) => {
    await graph('delete subscription', 'DELETE', `/subscriptions/${encodeURIComponent(id)}`, token);
  };

  /** Creates one subscription, first deleting strays of ours (a create whose record was lost). */
  async function create(
    resource: SubscribedResource,
    token: string,
    keep: Set<string>,
    keyValue: string,
    customerId: string,
  ): Promise<SubscriptionRef> {
    // Every page first, then the deletions: a deletion between pages must not shift what follows.
    const listed: Record<string, unknown>[] = [];
    let next: string | undefined = '/subscriptions';
    for (let pages = 0; next !== undefined; pages++) {
      if (pages >= MAX_LIST_PAGES)
        throw new Error('Graph listed more subscriptions than we can page through.');
      const page = await graph('list subscriptions', 'GET', next, token);
      const value = page.json.value;
      if (Array.isArray(value)) listed.push(...(value as Record<string, unknown>[]));
      const link = page.json['@odata.nextLink'];
      if (link !== undefined && (typeof link !== 'string' || !link.startsWith(`${deps.graphRoot}/`)))
        throw new Error('Graph answered a subscriptions nextLink outside Graph.');
      next = link;
    }
    for (const s of listed) {
      if (
        s.notificationUrl === notificationUrl &&
        resourceOf(s.resource) === resource &&
        !keep.has(String(s.id))
      )
        await removeAtGraph(String(s.id), token);
    }
    const made = await graph('create subscription', 'POST', '/subscriptions', token, {
      changeType: 'updated,deleted',
      notificationUrl,
      lifecycleNotificationUrl: lifecycleUrl,
      resource,
      expirationDateTime: newExpiry(deps.now()),
      clientState: clientStateFor(keyValue, customerId),
    });
    if (made.status === 404 || typeof made.json.id !== 'string')
      throw new SubscriptionGraphError('create subscription', made.status, undefined);
    return {
      id: made.json.id,
      expiresAt: String(made.json.expirationDateTime ?? newExpiry(deps.now())),
      keyId: keyIdOf(keyValue),
    };
  }

  const read = async (customerId: string) =>
    (await repo.get(partitionOf(customerId), SUBSCRIPTIONS_ROW))?.value;

  return {
    notificationUrl,
    lifecycleUrl,
    read,

    /**
     * Inside the tenant's run, before its delta: one point read, and Graph only when something is
     * due (create, renew, reauthorize, replace). Never throws: a failure is recorded and retried
     * after an hour, or at once when Graph sends a lifecycle event.
     */
    async maintain(customerId: string, token: string, requests: SyncRequest[], log: Log) {
      const now = deps.now();
      const before = await read(customerId);
      const events = requests.flatMap((r) => (r.lifecycle ? [r.lifecycle] : []));
      const urgent = events.some((e) => e.event !== 'missed');
      if (!urgent && before?.retryAfter && Date.parse(before.retryAfter) > now.getTime())
        return { outcome: 'waiting' as const };
      const state: TenantSubscriptions = {
        ...(before ?? { customerId }),
        updatedAt: before?.updatedAt ?? '',
      };
      const done: string[] = [];
      let failure: unknown;
      let keyValue: string;
      try {
        keyValue = await keyForSubscribing();
      } catch (e) {
        log.warn('replication_notifications_key_unavailable', { customerId, error: errorText(e) });
        return { outcome: 'failed' as const };
      }
      const keyId = keyIdOf(keyValue);
      const keep = new Set(subscribedResources.flatMap((r) => (state[r] ? [state[r].id] : [])));
      const checking = before !== undefined && checkDue(before.checkedAt ?? before.updatedAt, now);
      for (const resource of subscribedResources) {
        let sub = state[resource];
        const mine = events.filter((e) => e.subscriptionId === sub?.id).map((e) => e.event);
        try {
          if (sub && (mine.includes('subscriptionRemoved') || isExpired(sub.expiresAt, now))) sub = undefined;
          if (sub && sub.keyId !== keyId) {
            // Made under an older key: its clientState no longer proves anything; replace it.
            await removeAtGraph(sub.id, token);
            keep.delete(sub.id);
            sub = undefined;
          }
          if (sub && mine.includes('reauthorizationRequired')) {
            const r = await graph(
              'reauthorize subscription',
              'POST',
              `/subscriptions/${encodeURIComponent(sub.id)}/reauthorize`,
              token,
            );
            if (r.status === 404) sub = undefined;
            else done.push(`${resource}:reauthorized`);
          }
          if (sub && checking && mine.length === 0 && !renewalDue(sub.expiresAt, now)) {
            // Nothing else asks Graph about it today: is it still there?
            const r = await graph(
              'get subscription',
              'GET',
              `/subscriptions/${encodeURIComponent(sub.id)}`,
              token,
            );
            if (r.status === 404) sub = undefined;
            else done.push(`${resource}:checked`);
          }
          if (sub && renewalDue(sub.expiresAt, now)) {
            const r = await graph(
              'renew subscription',
              'PATCH',
              `/subscriptions/${encodeURIComponent(sub.id)}`,
              token,
              {
                expirationDateTime: newExpiry(now),
              },
            );
            if (r.status === 404) sub = undefined;
            else {
              sub = { ...sub, expiresAt: String(r.json.expirationDateTime ?? newExpiry(now)) };
              done.push(`${resource}:renewed`);
            }
          }
          if (!sub) {
            if (state[resource]) keep.delete(state[resource].id);
            sub = await create(resource, token, keep, keyValue, customerId);
            keep.add(sub.id);
            done.push(`${resource}:created`);
          }
          state[resource] = sub;
        } catch (e) {
          failure ??= e;
          log.warn('replication_subscription_failed', { customerId, resource, error: errorText(e) });
        }
      }
      const changed =
        done.length > 0 ||
        failure !== undefined ||
        before?.retryAfter !== undefined ||
        subscribedResources.some((r) => before?.[r]?.id !== state[r]?.id);
      if (!changed) return { outcome: 'current' as const };
      const next: TenantSubscriptions = {
        customerId,
        ...(state.users ? { users: state.users } : {}),
        ...(state.groups ? { groups: state.groups } : {}),
        // Each one was confirmed (or made, renewed) at Graph by this run.
        ...(checking && failure === undefined
          ? { checkedAt: now.toISOString() }
          : before?.checkedAt
            ? { checkedAt: before.checkedAt }
            : {}),
        ...(failure !== undefined
          ? {
              retryAfter: new Date(now.getTime() + RETRY_AFTER_FAILURE_MS).toISOString(),
              lastError: errorText(failure),
            }
          : {}),
        updatedAt: now.toISOString(),
      };
      await repo.upsert(next);
      if (done.length > 0) log.info('replication_subscriptions', { customerId, done });
      return { outcome: failure === undefined ? ('updated' as const) : ('failed' as const), done };
    },

    /** The customer is refused service: its subscriptions go (best effort at Graph), and so does the row. */
    async retire(customerId: string, token: () => Promise<string>, log: Log) {
      const row = await read(customerId);
      if (!row) return;
      const ids = subscribedResources.flatMap((r) => (row[r] ? [row[r].id] : []));
      if (ids.length > 0) {
        try {
          const t = await token();
          for (const id of ids) await removeAtGraph(id, t);
        } catch (e) {
          // Without access they expire on their own; their notifications find no row and are ignored.
          log.warn('replication_subscriptions_not_deleted', { customerId, error: errorText(e) });
        }
      }
      await repo.delete(partitionOf(customerId), SUBSCRIPTIONS_ROW);
    },

    /**
     * A delivery to the notification or lifecycle URL: every item's clientState is checked, items of
     * subscriptions we do not hold are ignored, and each tenant gets one sync request. Graph wants an
     * answer within 3 s, so nothing else happens here.
     */
    async receive(json: unknown, kind: 'change' | 'lifecycle', log: Log): Promise<Received> {
      const { items, malformed } = readDelivery(json);
      const result: Received = { accepted: 0, rejected: 0, unknown: 0, malformed, tenants: 0 };
      if (items.length === 0) return result;
      // Never made yet: no subscription of ours exists, so no item can be genuine.
      const keyValue = await heldKey.get();
      if (!keyValue) {
        result.rejected = items.length;
        log.warn('replication_notifications_dropped', { kind, ...result });
        return result;
      }
      const byCustomer = new Map<string, typeof items>();
      for (const item of items) {
        const customerId = customerOfClientState(keyValue, item.clientState);
        if (!customerId) {
          result.rejected++;
          continue;
        }
        byCustomer.set(customerId, [...(byCustomer.get(customerId) ?? []), item]);
      }
      const slot = Math.floor(deps.now().getTime() / (GATHER_SECONDS * 1000));
      await inParallel([...byCustomer], RECEIVE_CONCURRENCY, async ([customerId, list]) => {
        const row = await read(customerId);
        const held = new Set(subscribedResources.flatMap((r) => (row?.[r] ? [row[r].id] : [])));
        const known = list.filter((i) => held.has(i.subscriptionId));
        result.unknown += list.length - known.length;
        if (known.length === 0) return;
        result.accepted += known.length;
        result.tenants++;
        if (kind === 'change') {
          // One item per tenant per gathering window; its wake-up waits for the window to close.
          await deps.post(
            customerId,
            { id: `notification-${slot}`, payload: { reason: 'notification' } },
            { delaySeconds: GATHER_SECONDS },
          );
          return;
        }
        for (const i of known) {
          const event = (lifecycleEvents as readonly string[]).includes(i.lifecycleEvent ?? '')
            ? (i.lifecycleEvent as LifecycleEvent)
            : undefined;
          if (!event) {
            result.malformed++;
            continue;
          }
          await deps.post(customerId, {
            id: `lifecycle-${event}-${i.subscriptionId}`,
            payload: { reason: `lifecycle ${event}`, lifecycle: { event, subscriptionId: i.subscriptionId } },
          });
        }
      });
      if (result.rejected > 0 || result.unknown > 0 || result.malformed > 0)
        log.warn('replication_notifications_dropped', { kind, ...result });
      return result;
    },
  };
}

export type Notifications = ReturnType<typeof createNotifications>;
