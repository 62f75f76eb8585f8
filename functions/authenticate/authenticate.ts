import { randomUUID } from 'node:crypto';
import type { Cookie, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { DependencyError } from '../../shared/errors';
import type { ConsentLog } from '../../shared/onboarding/consent';
import type { ConsentProblem } from '../../shared/onboarding/consent-outcomes';
import {
  errorPage,
  invitationPage,
  problemPage,
  thanksPage,
  type ConsentPageFrame,
} from '../../shared/pages/consent-pages';
import { htmlResponse, redirectResponse, stylesheetResponse } from '../../shared/pages/response';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

/**
 * The customer admin's pages (public, no key): the invitation, "Start authentication", the return
 * from Microsoft, and their stylesheet. The rules live in services().consent; these only read the
 * request and render what it decided.
 */
const BROWSER_COOKIE = '__Host-switchboard-login';

async function frame(): Promise<ConsentPageFrame & { signInOrigin: string }> {
  const s = services();
  const authority = new URL(s.config.identity.authorityHost);
  return {
    providerName: await s.consent.providerName(),
    basePath: new URL(s.config.portal.publicBaseUrl).pathname.replace(/\/+$/, ''),
    signInHost: authority.host,
    signInOrigin: authority.origin,
  };
}

const logTo =
  (context: InvocationContext): ConsentLog =>
  (level, event) => {
    const line = JSON.stringify(event);
    if (level === 'error') context.error(line);
    else if (level === 'warning') context.warn(line);
    else context.info(line);
  };

function browserCookie(value: string, maxAgeSeconds: number): Cookie {
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

function cookieValue(request: HttpRequest, name: string): string | undefined {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Pages never show a stack trace: a 5xx shows an id, the log has the rest. */
function page(
  fn: (
    request: HttpRequest,
    context: InvocationContext,
    f: Awaited<ReturnType<typeof frame>>,
  ) => Promise<HttpResponseInit>,
) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    let f: Awaited<ReturnType<typeof frame>> | undefined;
    try {
      f = await frame();
      return await fn(request, context, f);
    } catch (e) {
      const errorId = randomUUID();
      const unavailable = e instanceof DependencyError;
      context.error(
        JSON.stringify({
          event: unavailable ? 'dependency_unavailable' : 'unhandled_error',
          errorId,
          name: e instanceof Error ? e.name : typeof e,
          message: e instanceof Error ? e.message : String(e),
          stack: unavailable || !(e instanceof Error) ? undefined : e.stack,
        }),
      );
      const fallback = f ?? { providerName: 'Our service', basePath: '', signInHost: '', signInOrigin: '' };
      return htmlResponse(
        unavailable ? 503 : 500,
        errorPage(fallback, errorId, unavailable),
        fallback.signInOrigin,
      );
    }
  };
}

const problemResponse = (f: Awaited<ReturnType<typeof frame>>, p: ConsentProblem, cookies: Cookie[] = []) =>
  htmlResponse(p.status, problemPage(f, p), f.signInOrigin, cookies);

export const authenticateInvitation = http({
  name: 'authenticateInvitation',
  route: 'authenticate/{invitationId}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: page(async (request, _context, f) => {
    const result = await services().consent.invitationPage(request.params.invitationId ?? '');
    if (result.kind === 'problem') return problemResponse(f, result);
    return htmlResponse(200, invitationPage(f, result), f.signInOrigin);
  }),
});

export const authenticateStart = http({
  name: 'authenticateStart',
  route: 'authenticate/{invitationId}/start',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: page(async (request, context, f) => {
    const result = await services().consent.start(request.params.invitationId ?? '', logTo(context));
    if (result.kind === 'problem') return problemResponse(f, result);
    const maxAge = Math.max(1, Math.round((result.expiresAt.getTime() - Date.now()) / 1000));
    return redirectResponse(result.location, f.signInOrigin, [browserCookie(result.browserKey, maxAge)]);
  }),
});

export const authenticateCallback = http({
  name: 'authenticateCallback',
  route: 'authenticate/OAuth2Callback',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: page(async (request, context, f) => {
    const query = Object.fromEntries(request.query.entries());
    const result = await services().consent.callback(
      query,
      cookieValue(request, BROWSER_COOKIE),
      logTo(context),
    );
    // The browser key has done its job either way.
    const clear = [browserCookie('', 0)];
    if (result.kind === 'problem') return problemResponse(f, result, clear);
    return htmlResponse(200, thanksPage(f, result), f.signInOrigin, clear);
  }),
});

export const authenticateStylesheet = http({
  name: 'authenticateStylesheet',
  route: 'authenticate/assets/site.css',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => stylesheetResponse(),
});
