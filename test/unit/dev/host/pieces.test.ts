import { describe, expect, it } from 'vitest';
import { parseTimeSpan, queueSettings, routePrefix } from '../../../../dev/host/config';
import { serializeCookie } from '../../../../dev/host/http';
import { isAuthorized } from '../../../../dev/host/keys';
import { decodeText, messageValue } from '../../../../dev/host/queues';

describe('host.json settings', () => {
  it('reads TimeSpans', () => {
    expect(parseTimeSpan('00:00:05', 'x')).toBe(5000);
    expect(parseTimeSpan('00:01:00', 'x')).toBe(60_000);
    expect(parseTimeSpan('1.02:00:00', 'x')).toBe(26 * 3600_000);
    expect(parseTimeSpan('00:00:00.250', 'x')).toBe(250);
    expect(() => parseTimeSpan('5s', 'visibilityTimeout')).toThrow(/visibilityTimeout/);
  });

  it('applies the host defaults and limits', () => {
    expect(routePrefix({})).toBe('api');
    expect(routePrefix({ extensions: { http: { routePrefix: '/v1/' } } })).toBe('v1');
    expect(queueSettings({})).toEqual({
      batchSize: 16,
      newBatchThreshold: 8,
      maxPollingIntervalMs: 60_000,
      visibilityTimeoutMs: 0,
      maxDequeueCount: 5,
      messageEncoding: 'base64',
    });
    expect(() => queueSettings({ extensions: { queues: { batchSize: 33 } } })).toThrow(/batchSize/);
    expect(() => queueSettings({ extensions: { queues: { messageEncoding: 'utf8' } } })).toThrow(
      /messageEncoding/,
    );
  });
});

describe('queue messages', () => {
  it('decodes base64 strictly and parses only JSON objects and arrays', () => {
    expect(decodeText(Buffer.from('{"a":1}').toString('base64'), 'base64')).toBe('{"a":1}');
    expect(() => decodeText('not base64!', 'base64')).toThrow(/base64/);
    expect(decodeText('not base64!', 'none')).toBe('not base64!');
    expect(messageValue(' {"a":1} ')).toEqual({ a: 1 });
    expect(messageValue('[1,2]')).toEqual([1, 2]);
    expect(messageValue('42')).toBe('42');
    expect(messageValue('{not json}')).toBe('{not json}');
  });
});

describe('keys', () => {
  const keys = { default: 'k1', other: 'k2', master: 'm' };
  it('opens function level with any key and admin level with the master key only', () => {
    expect(isAuthorized('anonymous', undefined, keys)).toBe(true);
    expect(isAuthorized('function', 'k2', keys)).toBe(true);
    expect(isAuthorized('function', 'm', keys)).toBe(true);
    expect(isAuthorized('function', 'k', keys)).toBe(false);
    expect(isAuthorized('function', '', { empty: '' })).toBe(false);
    expect(isAuthorized('admin', 'k1', keys)).toBe(false);
    expect(isAuthorized('admin', 'm', keys)).toBe(true);
    expect(isAuthorized('admin', 'm', { default: 'm' })).toBe(false);
  });
});

describe('cookies', () => {
  it('writes every attribute', () => {
    expect(
      serializeCookie({
        name: 'a b',
        value: 'x;y',
        domain: 'example.com',
        path: '/p',
        expires: Date.UTC(2030, 0, 1),
        secure: true,
        httpOnly: true,
        sameSite: 'None',
      }),
    ).toBe(
      'a%20b=x%3By; expires=Tue, 01 Jan 2030 00:00:00 GMT; domain=example.com; path=/p; secure; samesite=none; httponly',
    );
  });
});
