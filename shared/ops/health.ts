import { expiring } from '../cache';
/**
 * Health: the seeds' component checklist as one call. Each component is probed in parallel with a
 * time limit; the answer names the ones that are down. Errors are reduced to a short reason (no
 * bodies, no secrets).
 */
/** Storage's two services are named as parts of storage, so an outage reads as "storage" at a glance. */
export type ComponentName = 'storage.tables' | 'storage.queues' | 'keyVault' | 'email' | 'identity' | 'graph';

/**
 * What each probe proves, said in the report, so nobody reads more into an "up" than was checked.
 * Storage and Key Vault are probed with the app's own identity; e-mail and Graph only for reachability
 * (an authenticated Graph call needs a customer's token, which token health verifies per customer).
 */
export const probeProves: Record<ComponentName, string> = {
  'storage.tables': 'the app can list tables with its identity',
  'storage.queues': 'the app can read queue service properties with its identity',
  keyVault: 'the app can list secrets with its identity',
  email: 'Communication Services answers (below 500); credentials are proved by the first send',
  identity: "Microsoft's OpenID configuration for organizations is served",
  graph: 'Microsoft Graph answers (below 500) without a token; access is proved per customer',
};

export interface ComponentHealth {
  name: ComponentName;
  /** What "up" means for this component. */
  proves: string;
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
}

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  checkedAt: string;
  components: ComponentHealth[];
}

export type HealthProbes = Record<ComponentName, () => Promise<void>>;

export interface HealthService {
  /**
   * Probes every component. With `maxAgeMs`, a report that recent (or one being made) is reused:
   * the anonymous endpoint must not let anyone drive load onto the vault and the directory.
   */
  check(options?: { maxAgeMs?: number }): Promise<HealthReport>;
}

export function createHealthService(deps: {
  probes: HealthProbes;
  timeoutMs: number;
  now?: () => number;
}): HealthService {
  const now = deps.now ?? Date.now;
  const probeAll = async (): Promise<HealthReport> => {
    const entries = Object.entries(deps.probes) as [ComponentName, () => Promise<void>][];
    const components = await Promise.all(entries.map(([name, probe]) => run(name, probe, deps.timeoutMs)));
    return {
      status: components.every((c) => c.status === 'up') ? 'healthy' : 'unhealthy',
      checkedAt: new Date(now()).toISOString(),
      components,
    };
  };
  // Concurrent callers share one probe; a report younger than the caller's limit is reused.
  const latest = expiring(probeAll, { ttlMs: 0, now });
  return {
    check: (options = {}) => latest.refresh(options.maxAgeMs === undefined ? 0 : options.maxAgeMs + 1),
  };
}

async function run(
  name: ComponentName,
  probe: () => Promise<void>,
  timeoutMs: number,
): Promise<ComponentHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return {
      name,
      proves: probeProves[name],
      status: 'up',
      latencyMs: Math.round(performance.now() - started),
    };
  } catch (e) {
    return {
      name,
      proves: probeProves[name],
      status: 'down',
      latencyMs: Math.round(performance.now() - started),
      error: e instanceof Error ? e.message : 'failed',
    };
  } finally {
    clearTimeout(timer);
  }
}

/** An HTTP endpoint counts as up when it answers below 500 (an unauthenticated 401 still proves it is there). */
export async function probeHttp(url: string, timeoutMs: number, expectOk = false): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  if (res.status >= 500 || (expectOk && !res.ok)) throw new Error(`HTTP ${res.status}`);
}
