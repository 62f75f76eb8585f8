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
  let cached: { values: string[]; at: number } | undefined;
  let loading: Promise<string[]> | undefined;

  const load = () => {
    // One read at a time: a burst of requests after expiry shares it.
    loading ??= (async () => {
      try {
        const values = await Promise.all(deps.names.map((n) => deps.secrets.get(n)));
        const present = values.filter((v): v is string => typeof v === 'string' && v !== '');
        cached = { values: present, at: now() };
        return present;
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  };

  return {
    async current() {
      if (cached && now() - cached.at < deps.cacheSeconds * 1000) return cached.values;
      return load();
    },
    async refresh(minAgeSeconds) {
      if (cached && now() - cached.at < minAgeSeconds * 1000) return undefined;
      return load();
    },
  };
}
