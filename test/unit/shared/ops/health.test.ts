import { describe, expect, it } from 'vitest';
import { createHealthService, type HealthProbes } from '../../../../shared/ops/health';

function probes(calls: { n: number }, failing: string[] = []): HealthProbes {
  const probe = (name: string) => async () => {
    calls.n++;
    if (failing.includes(name)) throw new Error(`${name} refused the connection`);
  };
  return {
    'storage.tables': probe('storage.tables'),
    'storage.queues': probe('storage.queues'),
    keyVault: probe('keyVault'),
    email: probe('email'),
    identity: probe('identity'),
    graph: probe('graph'),
  };
}

describe('health', () => {
  it('reports each component and names the ones that are down', async () => {
    const calls = { n: 0 };
    const report = await createHealthService({
      probes: probes(calls, ['keyVault']),
      timeoutMs: 1000,
    }).check();
    expect(report.status).toBe('unhealthy');
    expect(report.components.find((c) => c.name === 'keyVault')).toMatchObject({
      status: 'down',
      error: 'keyVault refused the connection',
    });
    expect(report.components.filter((c) => c.status === 'up')).toHaveLength(5);
  });

  it('gives up on a component that does not answer in time', async () => {
    const service = createHealthService({
      probes: { ...probes({ n: 0 }), graph: () => new Promise<void>(() => undefined) },
      timeoutMs: 50,
    });
    const report = await service.check();
    expect(report.components.find((c) => c.name === 'graph')).toMatchObject({
      status: 'down',
      error: 'no answer within 50 ms',
    });
  });

  it('reuses a recent report when asked, and probes again once it is older', async () => {
    const calls = { n: 0 };
    let clock = 1_000_000;
    const service = createHealthService({ probes: probes(calls), timeoutMs: 1000, now: () => clock });
    await Promise.all([service.check({ maxAgeMs: 5000 }), service.check({ maxAgeMs: 5000 })]);
    expect(calls.n).toBe(6);
    clock += 4000;
    await service.check({ maxAgeMs: 5000 });
    expect(calls.n).toBe(6);
    await service.check();
    expect(calls.n).toBe(12);
    clock += 6000;
    await service.check({ maxAgeMs: 5000 });
    expect(calls.n).toBe(18);
  });
});
