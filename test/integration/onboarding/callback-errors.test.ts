import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, invitedCustomer, startWorld, type World } from './world';

/**
 * Anyone holding an invitation link can start a sign-in and then call our callback with their own
 * state and any error they like. What the browser claims picks a 4xx page and a warning, never a
 * 500 "the app is misconfigured" (an operator alarm) or a 503.
 */
let world: World;

beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world?.stop();
});

async function startedSignIn(): Promise<{ browser: Browser; state: string }> {
  const { token } = await invitedCustomer(world);
  const browser = new Browser();
  expect((await browser.get(`${world.base}/authenticate/${token}`)).status).toBe(200);
  const start = await browser.post(`${world.base}/authenticate/${token}/start`);
  const location = start.headers.get('location') ?? '';
  const state = new URL(location).searchParams.get('state') ?? '';
  expect(state).not.toBe('');
  return { browser, state };
}

describe('errors the browser brings back to the callback', () => {
  const forged: Record<string, string>[] = [
    { error: 'invalid_request' },
    { error: 'access_denied', error_description: 'AADSTS7000215: Invalid client secret provided.' },
    { error: 'invalid_client', error_description: 'AADSTS700016: Application not found.' },
    { error: 'server_error', error_description: 'AADSTS90033: A transient error.' },
    { error: 'temporarily_unavailable' },
    { error: 'x'.repeat(5000), error_description: 'AADSTS50011'.repeat(500) },
  ];
  for (const params of forged) {
    it(`answers a 4xx page to ${JSON.stringify(params).slice(0, 80)}`, async () => {
      const { browser, state } = await startedSignIn();
      const logsBefore = world.logs.length;
      const query = new URLSearchParams({ state, ...params });
      const page = await browser.get(`${world.base}/authenticate/OAuth2Callback?${query.toString()}`);
      expect(page.status).toBeGreaterThanOrEqual(400);
      expect(page.status).toBeLessThan(500);
      expect(page.html).not.toMatch(/misconfigured/i);
      const lines = world.logs.slice(logsBefore).map((l) => JSON.stringify(l));
      expect(lines.some((l) => l.includes('consent.refused'))).toBe(true);
      expect(lines.filter((l) => /"level":"error"/.test(l))).toEqual([]);
    });
  }
});
