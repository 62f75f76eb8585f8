import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig } from '../../../shared/config';
import { DependencyError } from '../../../shared/errors';
import { createServices, type Services } from '../../../shared/services';
import { startFaultyStack, type FaultyStack } from '../../helpers/faults';
import { uniquePrefix } from '../../helpers/stack';

/** The harness itself: while blocked the dependency is unreachable, and it is back the moment it is lifted. */
let faulty: FaultyStack;
let services: Services;

beforeAll(async () => {
  const stack = inject('stack');
  faulty = await startFaultyStack({ ...stack.settings, STORAGE_NAME_PREFIX: uniquePrefix() }, stack.urls);
  process.env.IDENTITY_ENDPOINT = faulty.settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = faulty.settings.IDENTITY_HEADER;
  services = createServices(loadConfig(faulty.settings));
});

afterAll(async () => {
  await faulty?.close();
});

const newCustomer = (id: string) => ({ id, name: 'Fault Test', adminEmail: 'admin@fault.example' });

describe('fault harness', () => {
  it('makes storage unreachable while blocked and reachable again once unblocked', async () => {
    await services.customers.create(newCustomer('fault-a'), 'test');
    faulty.storage.block();
    const started = Date.now();
    await expect(services.customers.get('fault-a')).rejects.toBeInstanceOf(DependencyError);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(faulty.proxies.tables.stats.refused).toBeGreaterThan(0);
    faulty.storage.unblock();
    expect((await services.customers.get('fault-a')).id).toBe('fault-a');
  });

  it('blockFor lifts by itself', async () => {
    const lifted = faulty.storage.blockFor(300);
    expect(faulty.proxies.tables.blocked).toBe(true);
    await lifted;
    expect(faulty.proxies.tables.blocked).toBe(false);
    expect((await services.customers.get('fault-a')).id).toBe('fault-a');
  });

  it('puts Key Vault and e-mail behind proxies too', async () => {
    faulty.proxies.keyVault.block();
    await expect(services.secrets.get('anything')).rejects.toThrow();
    faulty.proxies.keyVault.unblock();
    await expect(services.secrets.get('no-such-secret')).resolves.toBeUndefined();
    expect(faulty.proxies.keyVault.stats.forwarded).toBeGreaterThan(0);
  });
});
