import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SimState } from '../state';
import { hasPermission } from './auth';
import { groupsRead, usersRead } from './delta';
import { graphErrors, sendGraph, sendGraphError } from './errors';
import type { GraphRequest, GraphRoute } from './types';

/**
 * Change notifications for /users and /groups as Microsoft Graph documents them (REFERENCE.md,
 * "Change notifications"): POST/GET/PATCH/DELETE /subscriptions[/{id}] and POST
 * /subscriptions/{id}/reauthorize; both URLs validated by a POST `?validationToken=` that must be
 * echoed as 200 text/plain within 10 s; `created` refused for users and groups (creation and soft
 * delete arrive as `updated`); at most 41,760 minutes of lifetime; `clientState` at most 128
 * characters. Every change the portal controls make is delivered as `{ value: [...] }` to each
 * matching subscription, batched for a moment as Graph does; the list is paged by `@odata.nextLink`, with `resourceData` holding only
 * `@odata.type`, `@odata.id`, `id` and `organizationId`; a delivery not answered 2xx within 3 s is
 * retried with back-off until the subscription expires. Lifecycle events are sent on demand
 * (`notifications.lifecycle`). The only outbound calls are to the URLs a subscription names.
 */

export const MAX_LIFETIME_MINUTES = 41_760;
const VALIDATION_TIMEOUT_MS = 10_000;
const DELIVERY_TIMEOUT_MS = 3_000;
const MAX_CLIENT_STATE = 128;

export type Resource = 'users' | 'groups';
export type ChangeType = 'created' | 'updated' | 'deleted';
export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

export interface SimSubscription {
  id: string;
  tenantId: string;
  applicationId: string;
  creatorId: string;
  /** As given ('/users' or 'users'), and normalized. */
  rawResource: string;
  resource: Resource;
  changeTypes: ChangeType[];
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expiresAt: number;
  /** After a reauthorizationRequired event, deliveries wait until the app reauthorizes or renews. */
  reauthorizationRequired: boolean;
  /** Creation order: the list is paged by it, so a deletion between pages skips nothing. */
  seq: number;
}

/** One POST the simulator made to a subscriber (validation, delivery or lifecycle). */
export interface DeliveryAttempt {
  kind: 'validation' | 'notification' | 'lifecycle';
  subscriptionId: string | null;
  url: string;
  items: number;
  attempt: number;
  status: number | null;
  ok: boolean;
  ms: number;
  error?: string;
  at: number;
}

export interface NotificationOptions {
  /** How long changes gather before a delivery (Graph batches; default 200 ms). */
  batchMs: number;
  /** First retry delay of a failed delivery, doubling each time (default 1 s, capped at 60 s). */
  retryBaseMs: number;
  /**
   * Subscriptions per page of GET /subscriptions. Graph pages this list server-side (no `$top`;
   * more follow `@odata.nextLink`) without documenting the size; tests make it small.
   */
  listPageSize: number;
}

interface Pending {
  items: Record<string, unknown>[];
  timer?: NodeJS.Timeout;
  attempt: number;
}

export interface NotificationHub {
  subscriptions: Map<string, SimSubscription>;
  attempts: DeliveryAttempt[];
  reauthorizations: string[];
  options: NotificationOptions;
  pending: Map<string, Pending>;
  inFlight: Set<Promise<void>>;
  stopped: boolean;
  seq: number;
}

const hubs = new WeakMap<SimState, NotificationHub>();

export function hubOf(state: SimState): NotificationHub {
  let hub = hubs.get(state);
  if (!hub) {
    hub = {
      subscriptions: new Map(),
      attempts: [],
      reauthorizations: [],
      options: { batchMs: 200, retryBaseMs: 1000, listPageSize: 100 },
      pending: new Map(),
      inFlight: new Set(),
      stopped: false,
      seq: 0,
    };
    hubs.set(state, hub);
  }
  return hub;
}

/** Graph removes a subscription when it expires. */
function live(state: SimState, hub: NotificationHub): SimSubscription[] {
  const now = state.now();
  for (const [id, s] of hub.subscriptions) {
    if (s.expiresAt <= now) {
      hub.subscriptions.delete(id);
      const p = hub.pending.get(id);
      if (p?.timer) clearTimeout(p.timer);
      hub.pending.delete(id);
    }
  }
  return [...hub.subscriptions.values()];
}

async function post(
  hub: NotificationHub,
  record: Omit<DeliveryAttempt, 'status' | 'ok' | 'ms' | 'at'>,
  init: { body: string; contentType: string; timeoutMs: number; expect?: string },
): Promise<DeliveryAttempt> {
  const started = Date.now();
  let result: DeliveryAttempt;
  try {
    const res = await fetch(record.url, {
      method: 'POST',
      headers: { 'Content-Type': init.contentType },
      body: init.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(init.timeoutMs),
    });
    const text = await res.text();
    const ms = Date.now() - started;
    let ok = res.status >= 200 && res.status < 300 && ms <= init.timeoutMs;
    let error: string | undefined;
    if (init.expect !== undefined) {
      const type = res.headers.get('content-type') ?? '';
      if (res.status !== 200) error = 'status';
      else if (!/^text\/plain\b/i.test(type)) error = 'content-type';
      else if (text !== init.expect) error = 'mismatch';
      ok = error === undefined;
    }
    result = { ...record, status: res.status, ok, ms, at: started, ...(error ? { error } : {}) };
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    result = {
      ...record,
      status: null,
      ok: false,
      ms: Date.now() - started,
      at: started,
      error: timedOut ? 'timeout' : 'unreachable',
    };
  }
  hub.attempts.push(result);
  return result;
}

/** The validation handshake: POST ?validationToken=… with text/plain; 200 and the exact token within 10 s. */
async function validate(hub: NotificationHub, url: string): Promise<DeliveryAttempt> {
  const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
  const target = new URL(url);
  target.searchParams.set('validationToken', token);
  return post(
    hub,
    { kind: 'validation', subscriptionId: null, url: target.toString(), items: 0, attempt: 1 },
    { body: '', contentType: 'text/plain; charset=utf-8', timeoutMs: VALIDATION_TIMEOUT_MS, expect: token },
  );
}

function validationError(r: GraphRequest, a: DeliveryAttempt, now: number): void {
  const message =
    a.error === 'timeout'
      ? 'Subscription validation request timed out.'
      : a.error === 'mismatch'
        ? 'Subscription validation request failed. Response must exactly match validationToken query parameter.'
        : 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.';
  sendGraphError(r.ex, 400, 'InvalidRequest', message, now);
}

function entity(base: string, s: SimSubscription, withContext: boolean): Record<string, unknown> {
  return {
    ...(withContext ? { '@odata.context': `${base}/$metadata#subscriptions/$entity` } : {}),
    id: s.id,
    resource: s.rawResource,
    applicationId: s.applicationId,
    changeType: s.changeTypes.join(','),
    clientState: s.clientState,
    notificationUrl: s.notificationUrl,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl,
    expirationDateTime: new Date(s.expiresAt).toISOString(),
    creatorId: s.creatorId,
    includeResourceData: false,
    latestSupportedTlsVersion: 'v1_2',
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationQueryOptions: null,
    notificationUrlAppId: null,
  };
}

/** The request's JSON object (the dispatcher parsed it once; a $batch item carries its own). */
function jsonBody(r: GraphRequest, now: number): Record<string, unknown> | undefined {
  const v = r.body;
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  sendGraphError(r.ex, 400, 'BadRequest', 'Unable to read JSON request payload.', now);
  return undefined;
}

/** Graph wants https; like the identity platform with redirect URIs, the loopback may use http here. */
function acceptableUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const u = new URL(value);
    return (
      u.protocol === 'https:' ||
      (u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === 'localhost'))
    );
  } catch {
    return false;
  }
}

function checkExpiration(value: unknown, now: number): { at: number } | { error: string; code: string } {
  const at = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(at))
    return {
      code: 'InvalidRequest',
      error: 'expirationDateTime is a required property for subscription creation.',
    };
  if (at <= now) return { code: 'InvalidRequest', error: 'Subscription expiration must be in the future.' };
  if (at - now > MAX_LIFETIME_MINUTES * 60_000)
    return {
      code: 'ExtensionError',
      error: `Subscription expiration can only be ${MAX_LIFETIME_MINUTES} minutes in the future.`,
    };
  return { at };
}

function mayRead(r: GraphRequest, resource: Resource): boolean {
  return resource === 'users'
    ? hasPermission(r.principal, usersRead, usersRead)
    : hasPermission(r.principal, groupsRead, groupsRead);
}

function owned(r: GraphRequest, hub: NotificationHub, id: string | undefined): SimSubscription | undefined {
  live(r.ctx.state, hub);
  const s = id ? hub.subscriptions.get(id) : undefined;
  if (!s || s.tenantId !== r.principal.tenant.id || s.applicationId !== r.principal.appId) return undefined;
  return s;
}

function notFound(r: GraphRequest, id: string, now: number): void {
  sendGraphError(r.ex, 404, 'ResourceNotFound', graphErrors.notFound(id), now);
}

async function create(r: GraphRequest): Promise<void> {
  const now = r.ctx.state.now();
  const hub = hubOf(r.ctx.state);
  const body = jsonBody(r, now);
  if (!body) return;
  const rawResource = typeof body.resource === 'string' ? body.resource : '';
  const normalized = rawResource.replace(/^\/+/, '').toLowerCase();
  if (normalized !== 'users' && normalized !== 'groups') {
    return sendGraphError(
      r.ex,
      400,
      'InvalidRequest',
      rawResource
        ? `Resource '${rawResource}' is not supported.`
        : 'resource is a required property for subscription creation.',
      now,
    );
  }
  const resource = normalized;
  const types = typeof body.changeType === 'string' ? body.changeType.split(',').map((t) => t.trim()) : [];
  if (types.length === 0 || types.some((t) => !['created', 'updated', 'deleted'].includes(t))) {
    return sendGraphError(
      r.ex,
      400,
      'InvalidRequest',
      `Invalid changeType '${String(body.changeType ?? '')}'.`,
      now,
    );
  }
  if (types.includes('created')) {
    // Users and groups never send `created`: a new object arrives as `updated`.
    return sendGraphError(
      r.ex,
      400,
      'InvalidRequest',
      `The changeType 'created' is not supported for the resource '${rawResource}'; use 'updated'.`,
      now,
    );
  }
  if (!acceptableUrl(body.notificationUrl)) {
    return sendGraphError(r.ex, 400, 'InvalidRequest', 'The notificationUrl must be an https URL.', now);
  }
  if (
    body.lifecycleNotificationUrl !== undefined &&
    body.lifecycleNotificationUrl !== null &&
    !acceptableUrl(body.lifecycleNotificationUrl)
  ) {
    return sendGraphError(
      r.ex,
      400,
      'InvalidRequest',
      'The lifecycleNotificationUrl must be an https URL.',
      now,
    );
  }
  const clientState = body.clientState === undefined || body.clientState === null ? null : body.clientState;
  if (clientState !== null && (typeof clientState !== 'string' || clientState.length > MAX_CLIENT_STATE)) {
    return sendGraphError(
      r.ex,
      400,
      'InvalidRequest',
      `clientState must be a string of at most ${MAX_CLIENT_STATE} characters.`,
      now,
    );
  }
  const expiry = checkExpiration(body.expirationDateTime, now);
  if ('error' in expiry) return sendGraphError(r.ex, 400, expiry.code, expiry.error, now);
  if (!mayRead(r, resource)) {
    return sendGraphError(
      r.ex,
      403,
      'ExtensionError',
      'Operation: Create; Exception: [Status Code: Forbidden; Reason: Insufficient privileges]',
      now,
    );
  }
  const lifecycleUrl =
    typeof body.lifecycleNotificationUrl === 'string' ? body.lifecycleNotificationUrl : null;
  for (const url of [body.notificationUrl, ...(lifecycleUrl ? [lifecycleUrl] : [])]) {
    const a = await validate(hub, url);
    if (!a.ok) return validationError(r, a, r.ctx.state.now());
  }
  const s: SimSubscription = {
    id: randomUUID(),
    tenantId: r.principal.tenant.id,
    applicationId: r.principal.appId,
    creatorId: r.principal.userId ?? r.principal.appId,
    rawResource,
    resource,
    changeTypes: types as ChangeType[],
    notificationUrl: body.notificationUrl,
    lifecycleNotificationUrl: lifecycleUrl,
    clientState,
    expiresAt: expiry.at,
    reauthorizationRequired: false,
    seq: ++hub.seq,
  };
  hub.subscriptions.set(s.id, s);
  sendGraph(r.ex, 201, entity(r.base, s, true));
}

function list(r: GraphRequest): void {
  const now = r.ctx.state.now();
  const hub = hubOf(r.ctx.state);
  const token = r.query.get('$skiptoken');
  const after = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isSafeInteger(after) || after < 0)
    return sendGraphError(r.ex, 400, 'BadRequest', 'The skip token is not valid.', now);
  // Delegated: the subscriptions the signed-in user made with this app; app-only: all of the app's.
  const mine = live(r.ctx.state, hub)
    .filter(
      (s) =>
        s.tenantId === r.principal.tenant.id &&
        s.applicationId === r.principal.appId &&
        (r.principal.userId === undefined || s.creatorId === r.principal.userId) &&
        s.seq > after,
    )
    .sort((a, b) => a.seq - b.seq);
  const page = mine.slice(0, hub.options.listPageSize);
  const last = page.at(-1);
  sendGraph(r.ex, 200, {
    '@odata.context': `${r.base}/$metadata#subscriptions`,
    ...(last && mine.length > page.length
      ? {
          '@odata.nextLink': `${r.base}/subscriptions?$skiptoken=${Buffer.from(String(last.seq)).toString('base64url')}`,
        }
      : {}),
    value: page.map((s) => entity(r.base, s, false)),
  });
}

function get(r: GraphRequest): void {
  const now = r.ctx.state.now();
  const s = owned(r, hubOf(r.ctx.state), r.params[0]);
  if (!s) return notFound(r, r.params[0] ?? '', now);
  sendGraph(r.ex, 200, entity(r.base, s, true));
}

async function update(r: GraphRequest): Promise<void> {
  const now = r.ctx.state.now();
  const hub = hubOf(r.ctx.state);
  const s = owned(r, hub, r.params[0]);
  if (!s) return notFound(r, r.params[0] ?? '', now);
  const body = jsonBody(r, now);
  if (!body) return;
  let expiresAt = s.expiresAt;
  if (body.expirationDateTime !== undefined) {
    const expiry = checkExpiration(body.expirationDateTime, now);
    if ('error' in expiry) return sendGraphError(r.ex, 400, expiry.code, expiry.error, now);
    expiresAt = expiry.at;
  }
  let notificationUrl = s.notificationUrl;
  if (body.notificationUrl !== undefined && body.notificationUrl !== s.notificationUrl) {
    if (!acceptableUrl(body.notificationUrl))
      return sendGraphError(r.ex, 400, 'InvalidRequest', 'The notificationUrl must be an https URL.', now);
    const a = await validate(hub, body.notificationUrl);
    if (!a.ok) return validationError(r, a, r.ctx.state.now());
    notificationUrl = body.notificationUrl;
  }
  Object.assign(s, { expiresAt, notificationUrl });
  // Renewing counts as reauthorizing: held deliveries go out.
  if (s.reauthorizationRequired) {
    s.reauthorizationRequired = false;
    schedule(r.ctx.state, hub, s.id, 0);
  }
  sendGraph(r.ex, 200, entity(r.base, s, true));
}

function remove(r: GraphRequest): void {
  const now = r.ctx.state.now();
  const hub = hubOf(r.ctx.state);
  const s = owned(r, hub, r.params[0]);
  if (!s) return notFound(r, r.params[0] ?? '', now);
  hub.subscriptions.delete(s.id);
  const p = hub.pending.get(s.id);
  if (p?.timer) clearTimeout(p.timer);
  hub.pending.delete(s.id);
  r.ex.res.writeHead(204).end();
}

function reauthorize(r: GraphRequest): void {
  const now = r.ctx.state.now();
  const hub = hubOf(r.ctx.state);
  const s = owned(r, hub, r.params[0]);
  if (!s) return notFound(r, r.params[0] ?? '', now);
  if (!mayRead(r, s.resource)) {
    return sendGraphError(r.ex, 403, 'Authorization_RequestDenied', graphErrors.insufficientPrivileges, now);
  }
  hub.reauthorizations.push(s.id);
  if (s.reauthorizationRequired) {
    s.reauthorizationRequired = false;
    schedule(r.ctx.state, hub, s.id, 0);
  }
  r.ex.res.writeHead(204).end();
}

function schedule(state: SimState, hub: NotificationHub, subscriptionId: string, delayMs: number): void {
  const p = hub.pending.get(subscriptionId);
  if (!p || p.timer || p.items.length === 0 || hub.stopped) return;
  p.timer = setTimeout(() => {
    p.timer = undefined;
    const run = deliver(state, hub, subscriptionId).finally(() => hub.inFlight.delete(run));
    hub.inFlight.add(run);
  }, delayMs);
  p.timer.unref?.();
}

async function deliver(state: SimState, hub: NotificationHub, subscriptionId: string): Promise<void> {
  const s = live(state, hub).find((x) => x.id === subscriptionId);
  const p = hub.pending.get(subscriptionId);
  if (!s || !p) return;
  if (s.reauthorizationRequired) return;
  // Graph sends up to 1,000 items per request.
  const items = p.items.splice(0, 1000);
  if (items.length === 0) return;
  p.attempt += 1;
  const value = items.map((i) => ({
    ...i,
    subscriptionExpirationDateTime: new Date(s.expiresAt).toISOString(),
  }));
  const a = await post(
    hub,
    { kind: 'notification', subscriptionId, url: s.notificationUrl, items: items.length, attempt: p.attempt },
    {
      body: JSON.stringify({ value }),
      contentType: 'application/json; charset=utf-8',
      timeoutMs: DELIVERY_TIMEOUT_MS,
    },
  );
  if (a.ok) {
    p.attempt = 0;
    schedule(state, hub, subscriptionId, hub.options.batchMs);
    return;
  }
  // Put them back at the front and try again later, until the subscription is gone.
  p.items.unshift(...items);
  const backoff = Math.min(hub.options.retryBaseMs * 2 ** (p.attempt - 1), 60_000);
  schedule(state, hub, subscriptionId, backoff);
}

/** Called by the portal controls for every change to a user or group of a tenant. */
export function notifyChange(
  state: SimState,
  tenantId: string,
  kind: 'user' | 'group',
  id: string,
  changeType: 'updated' | 'deleted',
): void {
  const hub = hubOf(state);
  const resource: Resource = kind === 'user' ? 'users' : 'groups';
  const type = kind === 'user' ? 'Users' : 'Groups';
  for (const s of live(state, hub)) {
    if (s.tenantId !== tenantId || s.resource !== resource || !s.changeTypes.includes(changeType)) continue;
    let p = hub.pending.get(s.id);
    if (!p) {
      p = { items: [], attempt: 0 };
      hub.pending.set(s.id, p);
    }
    p.items.push({
      subscriptionId: s.id,
      changeType,
      clientState: s.clientState,
      resource: `${type}/${id}`,
      tenantId,
      resourceData: {
        '@odata.type': `#Microsoft.Graph.${kind === 'user' ? 'User' : 'Group'}`,
        '@odata.id': `${type}/${id}`,
        id,
        organizationId: tenantId,
      },
    });
    if (p.attempt === 0) schedule(state, hub, s.id, hub.options.batchMs);
  }
}

/** Test controls: lifecycle events, what was sent, delivery shaping. */
export interface NotificationControls {
  /** Live subscriptions (optionally of one tenant). */
  subscriptions(tenantId?: string): SimSubscription[];
  /** Sends a lifecycle event to the subscription's lifecycleNotificationUrl; resolves with the attempt. */
  lifecycle(subscriptionId: string, event: LifecycleEvent): Promise<DeliveryAttempt>;
  /** Every POST made to subscribers (validations, deliveries, lifecycle events), oldest first. */
  attempts(filter?: { kind?: DeliveryAttempt['kind']; subscriptionId?: string }): DeliveryAttempt[];
  /** Graph removes the subscription without telling (no lifecycle event, as it may for users and groups). */
  drop(subscriptionId: string): void;
  /** Subscription ids reauthorized through POST /subscriptions/{id}/reauthorize, in order. */
  reauthorizations(): string[];
  /** Notification items waiting to be delivered (batched, retrying or held for reauthorization). */
  pending(subscriptionId?: string): number;
  configure(options: Partial<NotificationOptions>): void;
  /** Resolves when nothing is in flight and nothing is waiting to go out (or after timeoutMs). */
  settled(timeoutMs?: number): Promise<boolean>;
  reset(): void;
  stop(): void;
}

export function createNotificationControls(state: SimState): NotificationControls {
  const hub = hubOf(state);
  const pendingCount = (id?: string) =>
    [...hub.pending.entries()].filter(([k]) => !id || k === id).reduce((n, [, p]) => n + p.items.length, 0);
  return {
    subscriptions: (tenantId) => live(state, hub).filter((s) => !tenantId || s.tenantId === tenantId),
    async lifecycle(subscriptionId, event) {
      const s = hub.subscriptions.get(subscriptionId);
      if (!s) throw new Error(`no subscription ${subscriptionId}`);
      if (!s.lifecycleNotificationUrl)
        throw new Error(`subscription ${subscriptionId} has no lifecycleNotificationUrl`);
      if (event === 'reauthorizationRequired') s.reauthorizationRequired = true;
      if (event === 'subscriptionRemoved') hub.subscriptions.delete(subscriptionId);
      const value = [
        {
          subscriptionId,
          subscriptionExpirationDateTime: new Date(s.expiresAt).toISOString(),
          tenantId: s.tenantId,
          clientState: s.clientState,
          lifecycleEvent: event,
        },
      ];
      return post(
        hub,
        { kind: 'lifecycle', subscriptionId, url: s.lifecycleNotificationUrl, items: 1, attempt: 1 },
        {
          body: JSON.stringify({ value }),
          contentType: 'application/json; charset=utf-8',
          timeoutMs: DELIVERY_TIMEOUT_MS,
        },
      );
    },
    attempts: (filter = {}) =>
      hub.attempts.filter(
        (a) =>
          (!filter.kind || a.kind === filter.kind) &&
          (!filter.subscriptionId || a.subscriptionId === filter.subscriptionId),
      ),
    drop(subscriptionId) {
      hub.subscriptions.delete(subscriptionId);
      const p = hub.pending.get(subscriptionId);
      if (p?.timer) clearTimeout(p.timer);
      hub.pending.delete(subscriptionId);
    },
    reauthorizations: () => [...hub.reauthorizations],
    pending: pendingCount,
    configure(options) {
      Object.assign(hub.options, options);
    },
    async settled(timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        const waiting = [...hub.pending.values()].some((p) => p.items.length > 0 && p.timer !== undefined);
        if (hub.inFlight.size === 0 && !waiting) return true;
        await sleep(20);
      }
      return false;
    },
    reset() {
      hub.attempts.length = 0;
      hub.reauthorizations.length = 0;
    },
    stop() {
      hub.stopped = true;
      for (const p of hub.pending.values()) if (p.timer) clearTimeout(p.timer);
    },
  };
}

export const subscriptionRoutes: GraphRoute[] = [
  { method: 'POST', pattern: /^\/subscriptions$/, handler: create },
  { method: 'GET', pattern: /^\/subscriptions$/, handler: list },
  { method: 'GET', pattern: /^\/subscriptions\/([^/]+)$/, handler: get },
  { method: 'PATCH', pattern: /^\/subscriptions\/([^/]+)$/, handler: update },
  { method: 'DELETE', pattern: /^\/subscriptions\/([^/]+)$/, handler: remove },
  { method: 'POST', pattern: /^\/subscriptions\/([^/]+)\/reauthorize$/, handler: reauthorize },
];
