import { expiring } from '../cache';
import type { SecretStore } from '../secrets/vault';

/**
 * The webhook's signing secrets, read from Key Vault and kept in memory for a short while, so a
 * rotation (a new secret under the first name, the old one moved to the second) takes effect within
 * the cache time without a restart. A name with no secret behind it is simply not accepted.
 */
export interface WebhookSecrets {
  /** The secrets that exist, current first; empty when none does. Key Vault down → DependencyError. */
  current(): Promise<string[]>;
  /** Reads Key Vault again unless it was read within `minAgeSeconds` (after a failed check). */
  refresh(minAgeSeconds: number): Promise<string[] | undefined>;
}

export function createWebhookSecrets(deps: {
  secrets: SecretStore;
  names: string[];
  cacheSeconds: number;
  now?: () => number;
}): WebhookSecrets {
  const now = deps.now ?? (() => Date.now());
  const cache = expiring(
    async () => {
      const values = await Promise.all(deps.names.map((n) => deps.secrets.get(n)));
      return values.filter((v): v is string => typeof v === 'string' && v !== '');
    },
    { ttlMs: deps.cacheSeconds * 1000, now },
  );
  return {
    current: () => cache.get(),
    async refresh(minAgeSeconds) {
      const at = cache.loadedAt();
      if (at !== undefined && now() - at < minAgeSeconds * 1000) return undefined;
      return cache.refresh(0);
    },
  };
}
