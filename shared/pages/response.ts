import type { Cookie, HttpResponseInit } from '@azure/functions';
import { siteCss } from './stylesheet';

/**
 * Headers of every customer-facing answer. The CSP allows no script and only our own stylesheet;
 * forms may go to us and (through our redirect) to Microsoft's sign-in; nothing may frame the
 * pages. No referrer, ever: the invitation link in the address bar must not reach Microsoft or
 * anyone else. Nothing is cached: the pages hold personal data and one-time links.
 */
export function securityHeaders(signInOrigin: string): Record<string, string> {
  return {
    'content-security-policy': [
      "default-src 'none'",
      "style-src 'self'",
      "img-src 'self' data:",
      `form-action 'self' ${signInOrigin}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    'cross-origin-opener-policy': 'same-origin',
    'x-robots-tag': 'noindex, nofollow',
  };
}

export function htmlResponse(
  status: number,
  body: string,
  signInOrigin: string,
  cookies: Cookie[] = [],
): HttpResponseInit {
  return {
    status,
    headers: { ...securityHeaders(signInOrigin), 'content-type': 'text/html; charset=utf-8' },
    body,
    ...(cookies.length ? { cookies } : {}),
  };
}

/** 303: the browser follows with a GET whatever the method was (the Start form is a POST). */
export function redirectResponse(
  location: string,
  signInOrigin: string,
  cookies: Cookie[] = [],
): HttpResponseInit {
  return {
    status: 303,
    headers: { ...securityHeaders(signInOrigin), location },
    ...(cookies.length ? { cookies } : {}),
  };
}

export function stylesheetResponse(): HttpResponseInit {
  return {
    status: 200,
    headers: {
      'content-type': 'text/css; charset=utf-8',
      'x-content-type-options': 'nosniff',
      // The URL carries the stylesheet's hash, so a cached copy is never stale.
      'cache-control': 'public, max-age=86400, immutable',
    },
    body: siteCss,
  };
}
