import { invitationPage, problemPage, thanksPage } from '../../shared/pages/consent-pages';
import {
  BROWSER_COOKIE,
  browserCookie,
  consentLog,
  cookieValue,
  pageHandler,
} from '../../shared/pages/handler';
import { htmlResponse, redirectResponse, stylesheetResponse } from '../../shared/pages/response';
import { services } from '../../shared/services';
import { http } from '../../shared/triggers';

/**
 * The customer admin's pages (public, no key): the invitation, "Start authentication", the return
 * from Microsoft, and their stylesheet. The rules live in services().consent; these only read the
 * request and render what it decided.
 */
export const authenticateInvitation = http({
  name: 'authenticateInvitation',
  route: 'authenticate/{invitationId}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: pageHandler(services, async (request, _context, page) => {
    const result = await services().consent.invitationPage(request.params.invitationId ?? '');
    if (result.kind === 'problem')
      return htmlResponse(result.status, problemPage(page, result), page.signInOrigin);
    return htmlResponse(200, invitationPage(page, result), page.signInOrigin);
  }),
});

export const authenticateStart = http({
  name: 'authenticateStart',
  route: 'authenticate/{invitationId}/start',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: pageHandler(services, async (request, context, page) => {
    const result = await services().consent.start(request.params.invitationId ?? '', consentLog(context));
    if (result.kind === 'problem')
      return htmlResponse(result.status, problemPage(page, result), page.signInOrigin);
    const maxAge = Math.max(1, Math.round((result.expiresAt.getTime() - Date.now()) / 1000));
    return redirectResponse(result.location, page.signInOrigin, [browserCookie(result.browserKey, maxAge)]);
  }),
});

export const authenticateCallback = http({
  name: 'authenticateCallback',
  route: 'authenticate/OAuth2Callback',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: pageHandler(services, async (request, context, page) => {
    const result = await services().consent.callback(
      Object.fromEntries(request.query.entries()),
      cookieValue(request, BROWSER_COOKIE),
      consentLog(context),
    );
    // The browser key has done its job either way.
    const cleared = [browserCookie('', 0)];
    if (result.kind === 'problem') {
      return htmlResponse(result.status, problemPage(page, result), page.signInOrigin, cleared);
    }
    return htmlResponse(200, thanksPage(page, result), page.signInOrigin, cleared);
  }),
});

export const authenticateStylesheet = http({
  name: 'authenticateStylesheet',
  route: 'authenticate/assets/site.css',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async () => stylesheetResponse(),
});
