/**
 * Microsoft Graph's throttling budgets, kept on our side so we slow down before Graph has to say 429:
 * per app per tenant 3,500 / 5,000 / 8,000 resource units per 10 s (by tenant size, `tenantBudget`),
 * and for the whole app across all tenants 150,000 per 20 s. The app-wide figure is shared by every
 * instance the app may scale to, and instances do not talk to each other: each keeps
 * 150,000 / REPLICATION_MAX_INSTANCES, so all of them together never exceed it.
 */

export const TENANT_WINDOW_MS = 10_000;
export const APP_WINDOW_MS = 20_000;
export const APP_UNITS_PER_WINDOW = 150_000;
/**
 * Our clock and Graph's see a request at slightly different instants (the network between): a spend
 * counts this much longer here, so two requests that are a window apart for us are also apart there.
 */
export const WINDOW_SLACK_MS = 250;

export interface Spend {
  at: number;
  units: number;
}

/**
 * A sliding window (pure): how long from `now` until `units` more fit under `limit`, given what was
 * spent (oldest first). A spend at `at` counts for every instant before `at + windowMs`.
 */
export function windowWait(
  spent: readonly Spend[],
  now: number,
  units: number,
  limit: number,
  windowMs: number,
): number {
  const need = Math.min(units, limit);
  let used = 0;
  for (const s of spent) if (s.at + windowMs > now) used += s.units;
  let excess = used + need - limit;
  if (excess <= 0) return 0;
  for (const s of spent) {
    if (s.at + windowMs <= now) continue;
    excess -= s.units;
    if (excess <= 0) return s.at + windowMs - now;
  }
  return windowMs;
}

/** Drops what no longer counts (keeps the arrays short). */
function prune(spent: Spend[], now: number, windowMs: number): void {
  let drop = 0;
  while (drop < spent.length && (spent[drop] as Spend).at + windowMs <= now) drop++;
  if (drop > 0) spent.splice(0, drop);
}

export interface GraphBudget {
  /**
   * Reserves `units` for one request to `tenant` whose limit is `tenantLimit`: 0 when reserved, else
   * the milliseconds to wait before asking again (nothing is reserved then).
   */
  reserve(tenant: string, tenantLimit: number, units: number): number;
  /** What Graph said the request really cost (`x-ms-resource-unit`), against what was reserved. */
  correct(tenant: string, reserved: number, actual: number): void;
}

export function createGraphBudget(options: {
  now?: () => number;
  /** This instance's share of the app-wide budget (units per APP_WINDOW_MS). */
  appUnits: number;
  tenantWindowMs?: number;
  appWindowMs?: number;
}): GraphBudget {
  const now = options.now ?? Date.now;
  const tenantWindowMs = (options.tenantWindowMs ?? TENANT_WINDOW_MS) + WINDOW_SLACK_MS;
  const appWindowMs = (options.appWindowMs ?? APP_WINDOW_MS) + WINDOW_SLACK_MS;
  const app: Spend[] = [];
  const tenants = new Map<string, Spend[]>();
  const spentOf = (tenant: string, at: number) => {
    let s = tenants.get(tenant);
    if (!s) {
      s = [];
      tenants.set(tenant, s);
    }
    prune(s, at, tenantWindowMs);
    return s;
  };
  const sweep = (at: number) => {
    prune(app, at, appWindowMs);
    // A tenant idle for a whole window is forgotten: the map holds only tenants being synced now.
    if (tenants.size > 1000)
      for (const [k, s] of tenants) {
        prune(s, at, tenantWindowMs);
        if (s.length === 0) tenants.delete(k);
      }
  };
  return {
    reserve(tenant, tenantLimit, units) {
      const at = now();
      sweep(at);
      const mine = spentOf(tenant, at);
      const wait = Math.max(
        windowWait(mine, at, units, tenantLimit, tenantWindowMs),
        windowWait(app, at, units, options.appUnits, appWindowMs),
      );
      if (wait > 0) return wait;
      mine.push({ at, units });
      app.push({ at, units });
      return 0;
    },
    correct(tenant, reserved, actual) {
      const extra = actual - reserved;
      if (!Number.isFinite(extra) || extra <= 0) return;
      // Charged now: it cannot be taken back from the past, only counted from here on.
      const at = now();
      spentOf(tenant, at).push({ at, units: extra });
      app.push({ at, units: extra });
    },
  };
}
