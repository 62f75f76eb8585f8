/**
 * The parts of host.json the local host honours, with the Functions host's defaults. Anything else
 * in host.json (logging, extensionBundle, …) is accepted and ignored.
 */
export interface HostJson {
  extensions?: {
    http?: { routePrefix?: string };
    queues?: {
      batchSize?: number;
      newBatchThreshold?: number;
      maxPollingInterval?: string;
      visibilityTimeout?: string;
      maxDequeueCount?: number;
      messageEncoding?: string;
    };
  };
  [key: string]: unknown;
}

export interface QueueSettings {
  batchSize: number;
  /** Fetch a new batch once this few messages are still being handled. */
  newBatchThreshold: number;
  maxPollingIntervalMs: number;
  /** How long a failed message stays invisible before its next try. */
  visibilityTimeoutMs: number;
  maxDequeueCount: number;
  messageEncoding: 'base64' | 'none';
}

export function routePrefix(hostJson: HostJson): string {
  // Absent means "api"; an empty string means no prefix at all.
  return trimSlashes(hostJson.extensions?.http?.routePrefix ?? 'api');
}

export function queueSettings(hostJson: HostJson): QueueSettings {
  const q = hostJson.extensions?.queues ?? {};
  const batchSize = q.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 32) {
    throw new Error(
      `host.json extensions.queues.batchSize must be an integer from 1 to 32, got ${batchSize}`,
    );
  }
  const newBatchThreshold = q.newBatchThreshold ?? Math.floor(batchSize / 2);
  if (!Number.isInteger(newBatchThreshold) || newBatchThreshold < 0) {
    throw new Error(`host.json extensions.queues.newBatchThreshold must be an integer ≥ 0`);
  }
  const maxDequeueCount = q.maxDequeueCount ?? 5;
  if (!Number.isInteger(maxDequeueCount) || maxDequeueCount < 1) {
    throw new Error(`host.json extensions.queues.maxDequeueCount must be an integer ≥ 1`);
  }
  const encoding = (q.messageEncoding ?? 'base64').toLowerCase();
  if (encoding !== 'base64' && encoding !== 'none') {
    throw new Error(
      `host.json extensions.queues.messageEncoding must be "base64" or "none", got "${encoding}"`,
    );
  }
  const maxPollingIntervalMs = parseTimeSpan(q.maxPollingInterval ?? '00:01:00', 'maxPollingInterval');
  if (maxPollingIntervalMs < 100) {
    throw new Error('host.json extensions.queues.maxPollingInterval must be at least 100 ms');
  }
  return {
    batchSize,
    newBatchThreshold,
    maxPollingIntervalMs,
    visibilityTimeoutMs: parseTimeSpan(q.visibilityTimeout ?? '00:00:00', 'visibilityTimeout'),
    maxDequeueCount,
    messageEncoding: encoding,
  };
}

/** .NET TimeSpan text as host.json uses it: `[d.]hh:mm[:ss[.fffffff]]`, in milliseconds. */
export function parseTimeSpan(text: string, what: string): number {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/.exec(String(text).trim());
  if (!m) throw new Error(`host.json extensions.queues.${what}: "${text}" is not a TimeSpan like 00:00:05`);
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = ''] = m;
  const ms = Number(`0.${fraction || '0'}`) * 1000;
  return ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000 + ms;
}

export function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}
