import { randomUUID } from 'node:crypto';
import { aad, describe, type AadError } from './aad-errors';
import { isRegisteredRedirect, type Exchange, type SimContext } from './context';
import { resolveTenantSegment } from './discovery';
import { parseForm, readBody, redirect, sendHtml } from './http-util';
import {
  consentPage,
  errorPage,
  formPostPage,
  needAdminApprovalPage,
  signInPage,
  type AccountChoice,
  type ConsentLine,
} from './pages';
import { findGraphPermission, oidcConsentDisplay, parseScopes, GRAPH_RESOURCE } from './scopes';
import type { SeedApp } from './seed';
import { randomToken, sha256, union, type GrantedScopes, type PendingAuthorization } from './state';

/**
 * GET /{tenant}/oauth2/v2.0/authorize, then the account picker (POST /{tenant}/login) and the consent
 * page (POST /{tenant}/consent). A bad client_id or redirect_uri gets an error page (an unregistered
 * URI is never redirected to); every other error goes back to the redirect URI with error,
 * error_description and state, as the v2.0 endpoint does.
 */

const allowedPrompts = new Set(['login', 'none', 'consent', 'select_account']);

function ctxFor(ctx: SimContext, ex: Exchange) {
  return { base: ex.base, correlationId: ex.correlationId, now: ctx.state.now() };
}

function showError(ctx: SimContext, ex: Exchange, e: AadError): void {
  const description = describe(e, ctxFor(ctx, ex), randomUUID());
  sendHtml(ex.res, 400, errorPage({ title: 'Sorry, but we’re having trouble signing you in.', description }));
}

interface RedirectTarget {
  redirectUri: string;
  responseMode: 'query' | 'fragment' | 'form_post';
}

function sendToClient(
  ex: Exchange,
  target: RedirectTarget,
  params: Record<string, string | undefined>,
): void {
  const fields = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  if (target.responseMode === 'form_post')
    return sendHtml(ex.res, 200, formPostPage(target.redirectUri, fields));
  const url = new URL(target.redirectUri);
  if (target.responseMode === 'fragment') {
    url.hash = new URLSearchParams(fields).toString();
  } else {
    for (const [k, v] of Object.entries(fields)) url.searchParams.set(k, v);
  }
  redirect(ex.res, url.toString());
}

function redirectError(
  ctx: SimContext,
  ex: Exchange,
  target: RedirectTarget,
  e: AadError,
  state: string | undefined,
  subcode?: string,
): void {
  sendToClient(ex, target, {
    error: e.error,
    error_subcode: subcode,
    state,
    error_description: describe(e, ctxFor(ctx, ex), randomUUID()),
    error_uri: `${ex.base}/error?code=${e.code}`,
  });
}

export function authorize(ctx: SimContext, ex: Exchange, tenantSegment: string): void {
  const q = ex.url.searchParams;
  const resolved = resolveTenantSegment(ctx, tenantSegment);
  if (!resolved) return showError(ctx, ex, aad.tenantNotFound(tenantSegment));
  const clientId = q.get('client_id');
  if (!clientId) return showError(ctx, ex, aad.missingParameter('client_id'));
  const app = ctx.state.findApp(clientId);
  if (!app) {
    const directory = resolved.kind === 'tenant' ? resolved.tenant.displayName : tenantSegment;
    return showError(ctx, ex, aad.appNotFound(clientId, directory));
  }
  const redirectUri =
    q.get('redirect_uri') ?? (app.redirectUris.length === 1 ? app.redirectUris[0] : undefined);
  if (!redirectUri) return showError(ctx, ex, aad.missingParameter('redirect_uri'));
  if (!isRegisteredRedirect(ctx, app, redirectUri)) {
    return showError(ctx, ex, aad.redirectUriMismatch(redirectUri, app.clientId));
  }
  const state = q.get('state') ?? undefined;
  const mode = q.get('response_mode') ?? 'query';
  const target: RedirectTarget = {
    redirectUri,
    responseMode: mode === 'fragment' || mode === 'form_post' ? mode : 'query',
  };
  if (!['query', 'fragment', 'form_post'].includes(mode)) {
    return redirectError(ctx, ex, target, aad.malformed(), state);
  }
  const responseType = q.get('response_type');
  if (!responseType) return redirectError(ctx, ex, target, aad.missingParameter('response_type'), state);
  if (responseType !== 'code')
    return redirectError(ctx, ex, target, aad.unsupportedResponseType(responseType), state);
  const scope = q.get('scope');
  if (!scope?.trim()) return redirectError(ctx, ex, target, aad.missingParameter('scope'), state);
  const parsed = parseScopes(scope);
  const badScope = parsed.invalid ?? parsed.otherResources[0];
  if (badScope) return redirectError(ctx, ex, target, aad.invalidScope(badScope), state);

  const codeChallenge = q.get('code_challenge') ?? undefined;
  const method = q.get('code_challenge_method') ?? undefined;
  if (codeChallenge !== undefined) {
    // RFC 7636: without a method the challenge is the plain verifier; the v2.0 endpoint takes both.
    if (method !== undefined && method !== 'S256' && method !== 'plain') {
      return redirectError(ctx, ex, target, aad.invalidCodeChallengeMethod(method), state);
    }
    if (codeChallenge.length < 43 || codeChallenge.length > 128) {
      return redirectError(ctx, ex, target, aad.invalidCodeChallenge(), state);
    }
  }
  const prompt = q.get('prompt') ?? undefined;
  if (prompt !== undefined && !allowedPrompts.has(prompt)) {
    return redirectError(ctx, ex, target, aad.malformed(), state);
  }
  // The simulator keeps no browser session, so a silent request can never succeed.
  if (prompt === 'none') return redirectError(ctx, ex, target, aad.loginRequired(), state);

  ctx.state.cleanup();
  const pending: PendingAuthorization = {
    id: randomToken(24),
    clientId: app.clientId,
    redirectUri,
    responseMode: target.responseMode,
    scope,
    state,
    nonce: q.get('nonce') ?? undefined,
    codeChallenge,
    codeChallengeMethod: codeChallenge === undefined ? undefined : method === 'S256' ? 'S256' : 'plain',
    prompt,
    tenantSegment,
    pathTenantId: resolved.kind === 'tenant' ? resolved.tenant.id : undefined,
    loginHint: q.get('login_hint') ?? undefined,
    createdAt: ctx.state.now(),
  };
  ctx.state.pending.set(pending.id, pending);
  sendHtml(ex.res, 200, renderSignIn(ctx, pending, app));
}

function accountsFor(ctx: SimContext, pending: PendingAuthorization): AccountChoice[] {
  const tenants = pending.pathTenantId
    ? ctx.state.tenants.filter((t) => t.id === pending.pathTenantId)
    : ctx.state.tenants;
  const hint = pending.loginHint?.toLowerCase();
  const choices = tenants.flatMap((t) =>
    t.users.map((u) => ({
      userId: u.id,
      displayName: u.displayName,
      userPrincipalName: u.userPrincipalName,
      tenantName: t.displayName,
      tags: [
        ...(u.userType === 'Guest' ? ['Guest'] : []),
        ...(u.accountEnabled ? [] : ['Disabled']),
        ...t.directoryRoles
          .filter((r) => u.roleTemplateIds.includes(r.roleTemplateId))
          .map((r) => r.displayName),
      ],
    })),
  );
  // login_hint puts the hinted account first, like the real picker does.
  return hint
    ? [...choices].sort(
        (a, b) =>
          Number(b.userPrincipalName.toLowerCase() === hint) -
          Number(a.userPrincipalName.toLowerCase() === hint),
      )
    : choices;
}

function renderSignIn(ctx: SimContext, pending: PendingAuthorization, app: SeedApp): string {
  return signInPage({
    requestId: pending.id,
    action: `/${encodeURIComponent(pending.tenantSegment)}/login`,
    appName: app.displayName,
    accounts: accountsFor(ctx, pending),
  });
}

/** The Graph permissions and OIDC scopes this request asks for (`.default` = the app registration's). */
function requestedScopes(pending: PendingAuthorization, app: SeedApp): GrantedScopes {
  const parsed = parseScopes(pending.scope);
  const graph = parsed.graphDefault
    ? union(parseScopes(app.requestedScopes.join(' ')).graph, parsed.graph)
    : parsed.graph;
  return { graph, oidc: [...parsed.oidc], graphByUri: parsed.graphByUri };
}

async function pendingFromForm(
  ctx: SimContext,
  ex: Exchange,
): Promise<{ form: Map<string, string>; pending: PendingAuthorization; app: SeedApp } | undefined> {
  const form = parseForm(await readBody(ex.req));
  const pending = ctx.state.pending.get(form.get('request') ?? '');
  const app = pending && ctx.state.findApp(pending.clientId);
  if (!pending || !app || ctx.state.isPendingExpired(pending)) {
    sendHtml(
      ex.res,
      400,
      errorPage({
        title: 'This sign-in request is no longer valid',
        description:
          'The request was not found or has expired. Go back to the application and sign in again.',
      }),
    );
    return undefined;
  }
  return { form, pending, app };
}

export async function pickAccount(ctx: SimContext, ex: Exchange): Promise<void> {
  const found = await pendingFromForm(ctx, ex);
  if (!found) return;
  const { form, pending, app } = found;
  const choice = accountsFor(ctx, pending).find((a) => a.userId === form.get('account'));
  const user = choice && ctx.state.userById(choice.userId);
  if (!user) {
    return sendHtml(
      ex.res,
      400,
      errorPage({ title: 'Pick an account', description: 'That account cannot sign in here.' }),
    );
  }
  // Guests and disabled users get through on purpose: the app must refuse them itself.
  pending.userId = user.id;
  pending.tenantId = user.tenantId;
  pending.authTime = ctx.state.now();
  return continueWithConsent(ctx, ex, pending, app);
}

function consentLines(scopes: GrantedScopes): ConsentLine[] {
  return [
    ...scopes.graph.map((name) => {
      const p = findGraphPermission(name);
      return {
        scope: `${GRAPH_RESOURCE}/${name}`,
        display: p?.consentDisplay ?? name,
        adminConsentRequired: p?.adminConsentRequired ?? false,
      };
    }),
    ...scopes.oidc.map((s) => ({
      scope: s,
      display: oidcConsentDisplay[s] ?? s,
      adminConsentRequired: false,
    })),
  ];
}

/** Admin-only permissions this user would still need someone else to grant. */
function missingAdminScopes(ctx: SimContext, pending: PendingAuthorization, wanted: GrantedScopes): string[] {
  const grant = ctx.state.grant(pending.tenantId ?? '', pending.clientId);
  const granted = union(grant?.adminScopes ?? [], grant?.userScopes[pending.userId ?? ''] ?? []);
  return wanted.graph.filter((s) => findGraphPermission(s)?.adminConsentRequired && !granted.includes(s));
}

function continueWithConsent(
  ctx: SimContext,
  ex: Exchange,
  pending: PendingAuthorization,
  app: SeedApp,
): void {
  const user = ctx.state.userById(pending.userId ?? '');
  if (!user) return;
  const wanted = requestedScopes(pending, app);
  const consented = ctx.state.consentedScopes(user.tenantId, app.clientId, user.id);
  const missing = [...wanted.graph, ...wanted.oidc].filter((s) => !consented.includes(s));
  if (pending.prompt !== 'consent' && missing.length === 0) return complete(ctx, ex, pending, wanted);
  const canGrantForOrg = ctx.state.canGrantTenantWideConsent(user);
  const common = {
    requestId: pending.id,
    action: `/${encodeURIComponent(pending.tenantSegment)}/consent`,
    appName: app.displayName,
    publisherDomain: app.publisherDomain,
    upn: user.userPrincipalName,
    permissions: consentLines(wanted),
  };
  if (!canGrantForOrg && missingAdminScopes(ctx, pending, wanted).length > 0) {
    return sendHtml(ex.res, 200, needAdminApprovalPage(common));
  }
  sendHtml(ex.res, 200, consentPage({ ...common, canConsentForOrganization: canGrantForOrg }));
}

export async function consent(ctx: SimContext, ex: Exchange): Promise<void> {
  const found = await pendingFromForm(ctx, ex);
  if (!found) return;
  const { form, pending, app } = found;
  const user = ctx.state.userById(pending.userId ?? '');
  if (!user) return sendHtml(ex.res, 200, renderSignIn(ctx, pending, app));
  const action = form.get('action');
  const target: RedirectTarget = { redirectUri: pending.redirectUri, responseMode: pending.responseMode };
  if (action === 'cancel') {
    ctx.state.pending.delete(pending.id);
    return redirectError(ctx, ex, target, aad.userDeclined(), pending.state, 'cancel');
  }
  if (action === 'switch') {
    pending.userId = undefined;
    pending.tenantId = undefined;
    return sendHtml(ex.res, 200, renderSignIn(ctx, pending, app));
  }
  if (action !== 'accept') return continueWithConsent(ctx, ex, pending, app);
  const wanted = requestedScopes(pending, app);
  const forOrganization =
    form.get('consent_on_behalf') === 'true' && ctx.state.canGrantTenantWideConsent(user);
  if (!ctx.state.canGrantTenantWideConsent(user) && missingAdminScopes(ctx, pending, wanted).length > 0) {
    return continueWithConsent(ctx, ex, pending, app);
  }
  const grant = ctx.state.ensureGrant(user.tenantId, app.clientId);
  const scopes = [...wanted.graph, ...wanted.oidc];
  if (forOrganization) grant.adminScopes = union(grant.adminScopes, scopes);
  else grant.userScopes[user.id] = union(grant.userScopes[user.id] ?? [], scopes);
  ctx.log(
    `m365: ${user.userPrincipalName} consented${forOrganization ? ' for the organization' : ''} to ${scopes.join(' ')}`,
  );
  ctx.state.persist();
  complete(ctx, ex, pending, wanted);
}

function complete(ctx: SimContext, ex: Exchange, pending: PendingAuthorization, scopes: GrantedScopes): void {
  ctx.state.pending.delete(pending.id);
  const code = randomToken(64);
  const sessionId = randomUUID();
  ctx.state.codes.set(sha256(code), {
    codeHash: sha256(code),
    clientId: pending.clientId,
    redirectUri: pending.redirectUri,
    tenantId: pending.tenantId ?? '',
    userId: pending.userId ?? '',
    scopes,
    nonce: pending.nonce,
    codeChallenge: pending.codeChallenge,
    codeChallengeMethod: pending.codeChallengeMethod,
    createdAt: ctx.state.now(),
    authTime: pending.authTime ?? ctx.state.now(),
    sessionId,
  });
  sendToClient(
    ex,
    { redirectUri: pending.redirectUri, responseMode: pending.responseMode },
    { code, state: pending.state, session_state: sessionId },
  );
}
