/**
 * The one cache helper: a value kept for a while, loaded once however many callers ask at the same
 * time (a burst after expiry shares one load), and forgotten when loading fails, so an outage is
 * not remembered past the call that saw it.
 */
export interface Expiring<T> {
  /** The cached value while it is fresh, else a new load. */
  get(): Promise<T>;
  /** The value if it is younger than `maxAgeMs` (default: the cache's own age limit), else a new load. */
  refresh(maxAgeMs?: number): Promise<T>;
  /** When the value was loaded, or undefined before the first load. */
  loadedAt(): number | undefined;
  clear(): void;
}

export function expiring<T>(
  load: () => Promise<T>,
  options: { ttlMs: number | ((value: T) => number); now?: () => number },
): Expiring<T> {
  const now = options.now ?? Date.now;
  let held: { value: T; at: number; ttl: number } | undefined;
  let loading: Promise<T> | undefined;
  const fetchNew = (): Promise<T> => {
    loading ??= (async () => {
      try {
        const value = await load();
        const ttl = typeof options.ttlMs === 'function' ? options.ttlMs(value) : options.ttlMs;
        held = { value, at: now(), ttl };
        return value;
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  };
  return {
    get: () => (held && now() - held.at < held.ttl ? Promise.resolve(held.value) : fetchNew()),
    refresh: (maxAgeMs) =>
      held && now() - held.at < (maxAgeMs ?? held.ttl) ? Promise.resolve(held.value) : fetchNew(),
    loadedAt: () => held?.at,
    clear: () => {
      held = undefined;
    },
  };
}

/** Expiring values by key (one per customer, per queue, per scope …), each loaded once at a time. */
export function expiringMap<K, T>(
  load: (key: K) => Promise<T>,
  options: { ttlMs: number | ((value: T) => number); now?: () => number; maxEntries?: number },
): { get(key: K): Promise<T>; delete(key: K): void } {
  const entries = new Map<K, Expiring<T>>();
  const max = options.maxEntries ?? 10_000;
  return {
    get(key) {
      let entry = entries.get(key);
      if (!entry) {
        // Oldest first out: a Map keeps insertion order.
        if (entries.size >= max) entries.delete(entries.keys().next().value as K);
        entry = expiring(() => load(key), options);
        entries.set(key, entry);
      }
      return entry.get();
    },
    delete: (key) => {
      entries.delete(key);
    },
  };
}
