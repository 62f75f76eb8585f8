import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The pure rules of Graph change notifications (unit-tested): when a subscription is renewed, how
 * its clientState is derived and checked, and how a delivery is read. Graph's limits are in
 * REFERENCE.md ("Change notifications"): users and groups live at most 41,760 minutes, clientState
 * at most 128 characters.
 */

export const GRAPH_MAX_LIFETIME_MINUTES = 41_760;
/** Asked for at creation and renewal: the maximum less an hour, for clocks that disagree. */
export const SUBSCRIPTION_LIFETIME_MS = (GRAPH_MAX_LIFETIME_MINUTES - 60) * 60_000;
/** Renewed by the tenant's run once less than this is left: a week of runs (every few minutes) to succeed. */
export const RENEW_MARGIN_MS = 7 * 24 * 3600_000;
/** After a failed create or renew the run leaves the subscriptions alone this long (the timer still syncs). */
export const RETRY_AFTER_FAILURE_MS = 3600_000;
/**
 * How often the run asks Graph whether the subscriptions still exist (`GET /subscriptions/{id}`):
 * users and groups get no `subscriptionRemoved`, so one Graph dropped would otherwise go unnoticed
 * until its renewal, weeks later.
 */
export const CHECK_EVERY_MS = 24 * 3600_000;

/** True when the existence check is due; `checkedAt` falls back to when the row was last written. */
export function checkDue(checkedAt: string | undefined, now: Date, everyMs = CHECK_EVERY_MS): boolean {
  const at = checkedAt === undefined ? NaN : Date.parse(checkedAt);
  return Number.isNaN(at) || now.getTime() - at >= everyMs;
}

/** Notifications of one tenant within this window make one sync request (one mailbox item). */
export const GATHER_SECONDS = 2;

export const subscribedResources = ['users', 'groups'] as const;
export type SubscribedResource = (typeof subscribedResources)[number];
export const lifecycleEvents = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'] as const;
export type LifecycleEvent = (typeof lifecycleEvents)[number];

export const newExpiry = (now: Date): string =>
  new Date(now.getTime() + SUBSCRIPTION_LIFETIME_MS).toISOString();

/** True when a subscription expiring at `expiresAt` should be renewed now (or is already gone). */
export function renewalDue(expiresAt: string, now: Date, marginMs = RENEW_MARGIN_MS): boolean {
  const at = Date.parse(expiresAt);
  return Number.isNaN(at) || at - now.getTime() <= marginMs;
}

export const isExpired = (expiresAt: string, now: Date): boolean => {
  const at = Date.parse(expiresAt);
  return Number.isNaN(at) || at <= now.getTime();
};

const mac = (key: string, customerId: string) =>
  createHmac('sha256', key).update(`replication-notifications|${customerId}`).digest('base64url');

/**
 * `<customer id>.<HMAC-SHA256(key, customer)>`: 2-40 + 1 + 43 characters, inside Graph's 128. The
 * customer id in clear lets a delivery be checked without a table read; the MAC is what proves it
 * came from a subscription we made. Never stored: it is derived again whenever needed.
 */
export function clientStateFor(key: string, customerId: string): string {
  return `${customerId}.${mac(key, customerId)}`;
}

/** The customer a delivered clientState proves, compared in constant time; undefined when it proves nothing. */
export function customerOfClientState(key: string, clientState: unknown): string | undefined {
  if (typeof clientState !== 'string' || clientState.length > 128) return undefined;
  const dot = clientState.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const customerId = clientState.slice(0, dot);
  if (!/^[a-z0-9][a-z0-9_-]{1,39}$/.test(customerId)) return undefined;
  const given = Buffer.from(clientState.slice(dot + 1));
  const expected = Buffer.from(mac(key, customerId));
  return given.length === expected.length && timingSafeEqual(given, expected) ? customerId : undefined;
}

/** Names a key without revealing it: a subscription made under another key is replaced. */
export const keyIdOf = (key: string): string =>
  createHash('sha256').update(`replication-notifications-key|${key}`).digest('hex').slice(0, 16);

const itemSchema = z
  .object({
    subscriptionId: z.string().min(1).max(100),
    clientState: z.string().max(1000).nullish(),
    tenantId: z.string().max(100).optional(),
    changeType: z.string().max(100).optional(),
    resource: z.string().max(1000).optional(),
    lifecycleEvent: z.string().max(100).optional(),
  })
  .passthrough();

export interface DeliveredItem {
  subscriptionId: string;
  clientState?: string | null;
  changeType?: string;
  lifecycleEvent?: string;
}

/** Reads a delivery leniently: `{ value: [...] }`; items that are not notifications are counted, not fatal. */
export function readDelivery(json: unknown): { items: DeliveredItem[]; malformed: number } {
  const value = (json as { value?: unknown } | null)?.value;
  if (!Array.isArray(value)) return { items: [], malformed: 1 };
  const items: DeliveredItem[] = [];
  let malformed = 0;
  for (const raw of value) {
    const parsed = itemSchema.safeParse(raw);
    if (parsed.success) items.push(parsed.data);
    else malformed++;
  }
  return { items, malformed };
}

/** Normalizes a subscription's resource as Graph echoes it ('/users', 'users', 'Users'). */
export function resourceOf(value: unknown): SubscribedResource | undefined {
  const r = typeof value === 'string' ? value.replace(/^\/+/, '').toLowerCase() : '';
  return (subscribedResources as readonly string[]).includes(r) ? (r as SubscribedResource) : undefined;
}
