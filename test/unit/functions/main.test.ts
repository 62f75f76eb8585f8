import { afterEach, describe, expect, it, vi } from 'vitest';
import { sampleAzureSettings } from '../../../dev/sample-settings';

// @azure/functions registers nothing outside the Azure host ("test mode"), so the registration is
// checked by recording what main.ts asks of it.
const registered: { kind: string; name: string; options: Record<string, unknown> }[] = [];
vi.mock('@azure/functions', () => ({
  app: {
    http: (name: string, options: Record<string, unknown>) =>
      registered.push({ kind: 'http', name, options }),
    timer: (name: string, options: Record<string, unknown>) =>
      registered.push({ kind: 'timer', name, options }),
    storageQueue: (name: string, options: Record<string, unknown>) =>
      registered.push({ kind: 'queue', name, options }),
  },
}));

const settings = { ...sampleAzureSettings, STORAGE_NAME_PREFIX: 'blue' };

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
  registered.length = 0;
});

describe('the Azure registration', () => {
  it('registers every trigger of the listing, once, with its route, schedule or prefixed queue', async () => {
    for (const [k, v] of Object.entries(settings)) vi.stubEnv(k, v);
    await import('../../../functions/main');
    const { triggers } = await import('../../../functions');
    expect(registered.map((r) => r.name).sort()).toEqual(triggers.map((t) => t.name).sort());
    for (const t of triggers) {
      const r = registered.find((x) => x.name === t.name)!;
      expect(r.kind).toBe(t.kind);
      if (t.kind === 'http')
        expect(r.options).toMatchObject({ route: t.route, methods: t.methods, authLevel: t.authLevel });
      if (t.kind === 'timer') expect(r.options).toMatchObject({ schedule: t.schedule });
      if (t.kind === 'queue')
        expect(r.options).toMatchObject({
          queueName: `blue${t.queueName}`,
          connection: 'AzureWebJobsStorage',
        });
    }
  });

  it('refuses to start with a missing setting, naming it, and registers nothing', async () => {
    for (const [k, v] of Object.entries(settings)) if (k !== 'KEY_VAULT_URL') vi.stubEnv(k, v);
    vi.stubEnv('KEY_VAULT_URL', '');
    await expect(import('../../../functions/main')).rejects.toThrow(/KEY_VAULT_URL: is required/);
    expect(registered).toHaveLength(0);
  });
});
