import { describe, expect, it } from 'vitest';
import type { SecretStore } from '../../../../shared/secrets/vault';
import { createWebhookSecrets } from '../../../../shared/orders/webhook-secrets';

/** A vault double that counts reads; the real vault is exercised by the integration tests. */
function vault(values: Record<string, string>) {
  const reads: string[] = [];
  const store: SecretStore = {
    get: async (name) => {
      reads.push(name);
      return values[name];
    },
    set: async () => ({ version: '1' }),
    remove: async () => undefined,
    probe: async () => undefined,
  };
  return { store, reads, values };
}

describe('webhook secrets', () => {
  it('returns the secrets that exist, current first, and caches them for the configured time', async () => {
    const v = vault({ current: 'new', previous: 'old' });
    let now = 0;
    const secrets = createWebhookSecrets({
      secrets: v.store,
      names: ['current', 'previous'],
      cacheSeconds: 60,
      now: () => now,
    });
    expect(await secrets.current()).toEqual(['new', 'old']);
    now = 59_000;
    v.values.current = 'newer';
    expect(await secrets.current()).toEqual(['new', 'old']);
    now = 60_000;
    expect(await secrets.current()).toEqual(['newer', 'old']);
    expect(v.reads).toHaveLength(4);
  });

  it('skips a name with no secret behind it', async () => {
    const v = vault({ previous: 'old' });
    const secrets = createWebhookSecrets({
      secrets: v.store,
      names: ['current', 'previous'],
      cacheSeconds: 60,
    });
    expect(await secrets.current()).toEqual(['old']);
  });

  it('reads again on demand, but not more often than asked', async () => {
    const v = vault({ current: 'a' });
    let now = 0;
    const secrets = createWebhookSecrets({
      secrets: v.store,
      names: ['current'],
      cacheSeconds: 60,
      now: () => now,
    });
    await secrets.current();
    expect(await secrets.refresh(10)).toBeUndefined();
    now = 10_000;
    v.values.current = 'b';
    expect(await secrets.refresh(10)).toEqual(['b']);
  });

  it('shares one vault read among concurrent callers', async () => {
    const v = vault({ current: 'a' });
    const secrets = createWebhookSecrets({ secrets: v.store, names: ['current'], cacheSeconds: 60 });
    await Promise.all(Array.from({ length: 20 }, () => secrets.current()));
    expect(v.reads).toHaveLength(1);
  });
});
