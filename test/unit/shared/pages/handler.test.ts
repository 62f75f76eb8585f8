import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { DependencyError } from '../../../../shared/errors';
import { BROWSER_COOKIE, cookieValue, pageHandler } from '../../../../shared/pages/handler';
import type { Services } from '../../../../shared/services';

function fakeServices(providerName: () => Promise<string>): () => Services {
  const s = {
    config: {
      identity: { authorityHost: 'https://login.microsoftonline.com' },
      portal: { publicBaseUrl: 'https://switchboard.example' },
    },
    consent: { providerName },
  };
  return () => s as unknown as Services;
}

function context(lines: string[]): InvocationContext {
  return new InvocationContext({
    functionName: 'test',
    logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')),
  });
}

const request = () => new HttpRequest({ method: 'GET', url: 'https://switchboard.example/authenticate/x' });

describe('pageHandler', () => {
  it('turns an unexpected error into a 500 page with only an error id, logged under that id', async () => {
    const lines: string[] = [];
    const handler = pageHandler(
      fakeServices(async () => 'Fine Bak'),
      async () => {
        throw new Error('secret detail: token=abc at table xyz');
      },
    );
    const res = await handler(request(), context(lines));
    expect(res.status).toBe(500);
    const body = String(res.body);
    const id = /<code>([0-9a-f-]{36})<\/code>/.exec(body)?.[1];
    expect(id).toBeTruthy();
    expect(body).not.toContain('secret detail');
    expect(body).toContain('Fine Bak');
    expect((res.headers as Record<string, string>)['content-security-policy']).toContain(
      "default-src 'none'",
    );
    expect(lines.join('\n')).toContain(id);
    expect(lines.join('\n')).toContain('secret detail');
  });

  it('answers 503 when a dependency is down, even before the page frame could be built', async () => {
    const handler = pageHandler(
      fakeServices(async () => {
        throw new DependencyError('storage', 'table settings: unreachable');
      }),
      async () => ({ status: 200 }),
    );
    const res = await handler(request(), context([]));
    expect(res.status).toBe(503);
    expect(String(res.body)).toContain('A service we rely on isn’t answering');
    expect(String(res.body)).not.toContain('storage');
  });
});

describe('cookieValue', () => {
  it('finds the browser key among other cookies, and survives a malformed one', () => {
    const withCookie = (cookie: string) =>
      new HttpRequest({ method: 'GET', url: 'https://x.example/', headers: { cookie } });
    expect(cookieValue(withCookie(`a=1; ${BROWSER_COOKIE}=abc%3D; b=2`), BROWSER_COOKIE)).toBe('abc=');
    expect(cookieValue(withCookie('a=1'), BROWSER_COOKIE)).toBeUndefined();
    expect(cookieValue(withCookie(`${BROWSER_COOKIE}=%E0%A4%A`), BROWSER_COOKIE)).toBeUndefined();
    expect(
      cookieValue(new HttpRequest({ method: 'GET', url: 'https://x.example/' }), BROWSER_COOKIE),
    ).toBeUndefined();
  });
});
