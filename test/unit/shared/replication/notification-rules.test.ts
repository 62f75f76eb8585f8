import { describe, expect, it } from 'vitest';
import {
  CHECK_EVERY_MS,
  checkDue,
  clientStateFor,
  customerOfClientState,
  keyIdOf,
  newExpiry,
  readDelivery,
  renewalDue,
  RENEW_MARGIN_MS,
  GRAPH_MAX_LIFETIME_MINUTES,
  resourceOf,
} from '../../../../shared/replication/notification-rules';

const now = new Date('2026-03-01T12:00:00Z');

describe('renewal', () => {
  it('is due inside the margin, or when the expiry is gone or unreadable; not before', () => {
    const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
    expect(renewalDue(at(RENEW_MARGIN_MS + 60_000), now)).toBe(false);
    expect(renewalDue(at(RENEW_MARGIN_MS - 60_000), now)).toBe(true);
    expect(renewalDue(at(-1), now)).toBe(true);
    expect(renewalDue('not a date', now)).toBe(true);
  });

  it('asks for less than the 41,760 minutes Graph allows, and more than the margin', () => {
    const lifetime = Date.parse(newExpiry(now)) - now.getTime();
    expect(lifetime).toBeLessThan(GRAPH_MAX_LIFETIME_MINUTES * 60_000);
    expect(lifetime).toBeGreaterThan(RENEW_MARGIN_MS * 2);
  });
});

describe('clientState', () => {
  const key = 'k'.repeat(43);
  it('proves its customer, and fits in 128 characters for the longest customer id', () => {
    const longest = 'a'.repeat(40);
    const state = clientStateFor(key, longest);
    expect(state.length).toBeLessThanOrEqual(128);
    expect(customerOfClientState(key, state)).toBe(longest);
    expect(clientStateFor(key, 'contoso')).toBe(clientStateFor(key, 'contoso'));
  });

  it('proves nothing when tampered with, made with another key, or not a string', () => {
    const state = clientStateFor(key, 'contoso');
    const mac = state.split('.')[1]!;
    expect(customerOfClientState('other', state)).toBeUndefined();
    expect(customerOfClientState(key, `fabrikam.${mac}`)).toBeUndefined();
    expect(customerOfClientState(key, `${state.slice(0, -1)}A`)).toBeUndefined();
    expect(customerOfClientState(key, state.slice(0, -1))).toBeUndefined();
    for (const bad of [undefined, null, 42, '', '.', 'contoso', `${state}${'x'.repeat(100)}`])
      expect(customerOfClientState(key, bad)).toBeUndefined();
  });

  it('names its key by a hash that does not reveal it', () => {
    expect(keyIdOf(key)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyIdOf(key)).not.toBe(keyIdOf('other'));
    expect(key).not.toContain(keyIdOf(key));
  });
});

describe('reading a delivery', () => {
  it('keeps the notifications and counts what is not one', () => {
    const r = readDelivery({
      value: [
        { subscriptionId: 's1', clientState: 'x', changeType: 'updated', extra: 1 },
        { nope: true },
        'text',
      ],
    });
    expect(r.items.map((i) => i.subscriptionId)).toEqual(['s1']);
    expect(r.malformed).toBe(2);
    expect(readDelivery({})).toEqual({ items: [], malformed: 1 });
    expect(readDelivery(null)).toEqual({ items: [], malformed: 1 });
  });

  it('normalizes the resource as Graph echoes it', () => {
    expect(resourceOf('/users')).toBe('users');
    expect(resourceOf('Groups')).toBe('groups');
    expect(resourceOf('users/123')).toBeUndefined();
  });
});

describe('the daily existence check', () => {
  it('is due a day after the last one, or when none is known; not before', () => {
    const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
    expect(checkDue(ago(CHECK_EVERY_MS - 60_000), now)).toBe(false);
    expect(checkDue(ago(CHECK_EVERY_MS), now)).toBe(true);
    expect(checkDue(undefined, now)).toBe(true);
    expect(checkDue('not a date', now)).toBe(true);
  });
});
