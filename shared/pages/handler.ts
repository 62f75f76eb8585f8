import { createLog } from '../log';
import type { Cookie, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { recordFailure } from '../http/responses';
import type { ConsentLog } from '../onboarding/consent-outcomes';
import type { Services } from '../services';
import { errorPage, type ConsentPageFrame } from './consent-pages';
import { htmlResponse } from './response';

/**
 * What the customer-facing handlers share: the page frame from the settings, a wrapper that turns
 * any unexpected error into a page with only an error id (the details go to the log under that
 * id), the structured log, and the browser-binding cookie of a sign-in.
 */
export type PageContext = ConsentPageFrame & { signInOrigin: string };

export async function pageContext(s: Services): Promise<PageContext> {
  const authority = new URL(s.config.identity.authorityHost);
  return {
    providerName: await s.consent.providerName(),
    basePath: new URL(s.config.portal.publicBaseUrl).pathname.replace(/\/+$/, ''),
    signInHost: authority.host,
    signInOrigin: authority.origin,
  };
}

export function pageHandler(
  services: () => Services,
  fn: (request: HttpRequest, context: InvocationContext, page: PageContext) => Promise<HttpResponseInit>,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (request, context) => {
    let page: PageContext | undefined;
    try {
      page = await pageContext(services());
      return await fn(request, context, page);
    } catch (e) {
      const { status, errorId } = recordFailure(e, context);
      const fallback = page ?? {
        providerName: 'Our service',
        basePath: '',
        signInHost: '',
        signInOrigin: '',
      };
      return htmlResponse(
        status,
        errorPage(fallback, errorId ?? 'none', status === 503),
        fallback.signInOrigin,
      );
    }
  };
}

export function consentLog(context: InvocationContext): ConsentLog {
  return createLog(context);
}

/** Ties a sign-in to the browser that started it: `__Host-` (Secure, path /, no domain), HttpOnly, Lax. */
export const BROWSER_COOKIE = '__Host-switchboard-login';

export function browserCookie(value: string, maxAgeSeconds: number): Cookie {
  return {
    name: BROWSER_COOKIE,
    value,
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: maxAgeSeconds,
  };
}

export function cookieValue(request: HttpRequest, name: string): string | undefined {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
