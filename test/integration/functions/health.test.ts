import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../../../dev/host';
import { startLocalStack, type LocalStack } from '../../../dev/stack';
import { startTestHost, TEST_FUNCTION_KEY } from '../../helpers/host';
import { uniquePrefix } from '../../helpers/stack';
import { waitFor } from '../../helpers/wait';

// A private stack: this test stops its dependencies one by one, which the shared one must not suffer.
let stack: LocalStack;
let host: Host;

beforeAll(async () => {
  stack = await startLocalStack({ ports: 'free' });
  host = await startTestHost({
    ...stack.settings,
    STORAGE_NAME_PREFIX: uniquePrefix(),
    HEALTH_TIMEOUT_MS: '2000',
  });
});

afterAll(async () => {
  await host?.stop();
  await stack?.stop();
});

const get = async (path: string, key?: string) => {
  const res = await fetch(`${host.url}${path}`, key ? { headers: { 'x-functions-key': key } } : {});
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
};

describe('GET /api/health', () => {
  it('answers 200 when every component is up, and tells anonymous callers only the overall status', async () => {
    const { status, body } = await get('/api/health');
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'healthy', down: [] });
    expect(body).not.toHaveProperty('components');
  });

  it('gives operators each component with its latency', async () => {
    expect((await get('/api/health/details')).status).toBe(401);
    const { status, body } = await get('/api/health/details', TEST_FUNCTION_KEY);
    expect(status).toBe(200);
    const components = body.components as { name: string; status: string; latencyMs: number }[];
    expect(components.map((c) => c.name).sort()).toEqual([
      'email',
      'graph',
      'identity',
      'keyVault',
      'storage.queues',
      'storage.tables',
    ]);
    for (const c of components) {
      expect(c.status).toBe('up');
      expect(c.latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('answers 503 naming the e-mail service when it is down', async () => {
    await stack.email.stop();
    // Operators see it at once; anonymous callers get a report at most a few seconds old.
    const details = await get('/api/health/details', TEST_FUNCTION_KEY);
    expect(details.status).toBe(503);
    const { status, body } = await waitFor(async () => {
      const r = await get('/api/health');
      return r.status === 503 && r;
    }, 10_000);
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: 'unhealthy', down: ['email'] });
    const email = (details.body.components as { name: string; error?: string }[]).find(
      (c) => c.name === 'email',
    );
    expect(email?.error).toBeTruthy();
  });

  it('names storage when Azurite stops, to anonymous callers within a few seconds', async () => {
    await stack.azurite.stop();
    const { body } = await waitFor(async () => {
      const r = await get('/api/health');
      return (r.body.down as string[]).includes('storage.tables') && r;
    }, 10_000);
    expect(body.status).toBe('unhealthy');
    expect(body.down).toEqual(expect.arrayContaining(['storage.tables', 'storage.queues', 'email']));
  });
});
