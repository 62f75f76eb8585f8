import type { HttpHandler, InvocationContext, Timer } from '@azure/functions';

/**
 * Every trigger of the app is data of one of these shapes. `functions/index.ts` lists them; the
 * Azure registration (`functions/main.ts`) and the local host (`dev/host`) both read that list, so
 * the two can never disagree about what exists.
 */
export type AuthLevel = 'anonymous' | 'function' | 'admin';
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

export interface HttpTrigger {
  kind: 'http';
  name: string;
  /** Route without the host's routePrefix, e.g. `api/customers/{id}`. */
  route: string;
  methods: HttpMethod[];
  authLevel: AuthLevel;
  handler: HttpHandler;
}

export interface TimerTrigger {
  kind: 'timer';
  name: string;
  /** NCRONTAB, six fields, UTC: `{second} {minute} {hour} {day} {month} {day-of-week}`. */
  schedule: string;
  handler: (timer: Timer, context: InvocationContext) => Promise<void>;
}

export interface QueueTrigger {
  kind: 'queue';
  name: string;
  queueName: string;
  handler: (message: unknown, context: InvocationContext) => Promise<void>;
}

export type Trigger = HttpTrigger | TimerTrigger | QueueTrigger;

export const http = (t: Omit<HttpTrigger, 'kind'>): HttpTrigger => ({ kind: 'http', ...t });
export const timer = (t: Omit<TimerTrigger, 'kind'>): TimerTrigger => ({ kind: 'timer', ...t });
export const queue = (t: Omit<QueueTrigger, 'kind'>): QueueTrigger => ({ kind: 'queue', ...t });

/**
 * Queue names carry the deployment's storage prefix (STORAGE_NAME_PREFIX) so several deployments or
 * test runs can share an account; the Azure registration and the local host both apply it here.
 */
export function withQueuePrefix(triggers: Trigger[], prefix: string): Trigger[] {
  return triggers.map((t) => (t.kind === 'queue' ? { ...t, queueName: `${prefix}${t.queueName}` } : t));
}
