import { silentLog } from '../log';
import type { Client } from '@microsoft/microsoft-graph-client';
import type { Config } from '../config';
import type { Mailer } from '../email/mailer';
import { DependencyError, GoneError, NotFoundError } from '../errors';
import { createGraphClient } from '../graph/client';
import { classifyAadError, type AadErrorKind } from '../identity/aadsts';
import type { Authority } from '../identity/authority';
import type { LoginStateStore } from '../identity/login-state';
import { roleName } from '../identity/roles';
import { graphPermissions } from '../identity/scopes';
import { SignInError, type RedeemedTokens, type SignInClient } from '../identity/sign-in';
import type { SecretStore } from '../secrets/vault';
import type { AuditLog } from '../storage/audit';
import { checkConsent } from './consent-checks';
import {
  consentProblem as problem,
  invitationPath,
  type ConsentDone,
  type ConsentLog,
  type ConsentProblem,
  type InvitationPageModel,
  type StartRedirect,
} from './consent-outcomes';
import { recordConsent, type ConsentRecordDeps } from './consent-record';
import type { InvitationSettingsService } from './invitation-settings';
import type { InvitationService, OpenInvitation } from './invitations';
import type { OnboardingRepositories } from './repositories';

export type { ConsentLog } from './consent-outcomes';

/**
 * A customer's admin connects their Microsoft 365 organization: the invitation page, the start of
 * the sign-in, and the return from Microsoft. The return consumes the one-time state first (so it
 * cannot be replayed), reads Microsoft's answer, redeems the code with the PKCE verifier, checks
 * everything (consent-checks.ts) and only then stores (consent-record.ts). A refusal stores nothing.
 */
export interface ConsentService {
  /** The provider's name as the invitation e-mail gave it (invitation settings). */
  providerName(): Promise<string>;
  invitationPage(token: string): Promise<InvitationPageModel | ConsentProblem>;
  start(token: string, log?: ConsentLog): Promise<StartRedirect | ConsentProblem>;
  callback(
    query: Record<string, string | undefined>,
    browserKey: string | undefined,
    log?: ConsentLog,
  ): Promise<ConsentDone | ConsentProblem>;
}

export interface ConsentDeps {
  config: Config;
  repos: OnboardingRepositories;
  invitations: InvitationService;
  settings: InvitationSettingsService;
  logins: LoginStateStore;
  signIn: SignInClient;
  authority: Authority;
  secrets: SecretStore;
  audit: AuditLog;
  mailer: Mailer;
  notifyOrderingSystem?: ConsentRecordDeps['notifyOrderingSystem'];
  /**
   * What the customer's current grant lacks of what the app asks for (token health knows), so a
   * re-consent invitation can say which permissions are new.
   */
  missingScopes?: (customerId: string) => Promise<readonly string[]>;
  graphFor?: (accessToken: string) => Client;
  now?: () => Date;
}

const noLog: ConsentLog = silentLog;

export function createConsentService(deps: ConsentDeps): ConsentService {
  const now = deps.now ?? (() => new Date());
  const graphFor =
    deps.graphFor ??
    ((accessToken: string) =>
      createGraphClient({ baseUrl: deps.config.graph.baseUrl, accessToken: async () => accessToken }));

  /** The invitation and its customer, or the problem that makes it unusable. */
  const openInvitation = async (token: string): Promise<OpenInvitation | ConsentProblem> => {
    try {
      const opened = await deps.invitations.open(token);
      if (opened.customer.status === 'cancelled') return problem('customer_closed', 410);
      return opened;
    } catch (e) {
      if (e instanceof NotFoundError) return problem('invitation_not_found', 404);
      if (e instanceof GoneError) return problem('invitation_gone', 410, { message: e.message });
      throw e;
    }
  };

  /** The way back to the invitation, offered only while it can still be used. */
  const retryPathFor = async (token: string): Promise<string | undefined> => {
    const opened = await openInvitation(token).catch(() => undefined);
    return opened && !('kind' in opened) ? invitationPath(token) : undefined;
  };

  /**
   * Microsoft's token endpoint said no: an outage or our own registration is for the operators (503,
   * 500 with an id); anything else is the customer's page, as for a browser-reported error.
   */
  const fromSignInError = (e: SignInError, retryPath: string | undefined): ConsentProblem => {
    switch (e.aad.kind) {
      case 'temporary':
        throw new DependencyError(
          'Microsoft sign-in',
          `${e.aad.error}${e.aad.code ? ` AADSTS${e.aad.code}` : ''}`,
        );
      case 'app_misconfigured':
      case 'app_not_in_tenant':
        // The registration or its credential is wrong: a 500 page with an id; the log names the AADSTS code.
        throw new Error(`The app registration was refused by Microsoft: ${e.message}`);
      default:
        return fromBrowserError(e.aad.kind, retryPath);
    }
  };

  /** A sign-in error the browser reported: a 4xx page whatever it claims (see `callback`). */
  const fromBrowserError = (kind: AadErrorKind, retryPath: string | undefined): ConsentProblem => {
    switch (kind) {
      case 'cancelled':
        return problem('cancelled', 200, { retryPath });
      case 'consent_required':
        return problem('consent_required', 403, { retryPath });
      case 'account_not_allowed':
      case 'tenant_gone':
        return problem('account_not_allowed', 403, { retryPath });
      case 'blocked':
        return problem('blocked', 403, { retryPath });
      default:
        return problem('signin_failed', 400, { retryPath });
    }
  };

  return {
    async providerName() {
      return (await deps.settings.get().catch(() => undefined))?.providerName ?? deps.config.provider.name;
    },

    async invitationPage(token) {
      const opened = await openInvitation(token);
      if ('kind' in opened) return opened;
      return {
        kind: 'invitation',
        token,
        customerName: opened.customer.name,
        sentTo: opened.invitation.sentTo,
        expiresAt: opened.invitation.expiresAt,
        acceptedRoles: deps.config.consent.adminRoleIds.map(roleName),
        permissions: [...graphPermissions],
        newPermissions: newPermissionsOf(
          opened.customer.consentState === 'needs_consent'
            ? await (deps.missingScopes?.(opened.customer.id) ?? Promise.resolve([])).catch(() => [])
            : [],
        ),
      };
    },

    async start(token, log = noLog) {
      const opened = await openInvitation(token);
      if ('kind' in opened) return opened;
      const started = await deps.logins.create({ customerId: opened.customer.id, invitationToken: token });
      const location = await deps.signIn.authorizeUrl({
        state: started.state,
        nonce: started.nonce,
        codeChallenge: started.codeChallenge,
        prompt: deps.config.consent.prompt,
      });
      log.info('consent.started', { customerId: opened.customer.id, invitationId: opened.invitation.id });
      return { kind: 'redirect', location, browserKey: started.browserKey, expiresAt: started.expiresAt };
    },

    async callback(query, browserKey, log = noLog) {
      const refuse = (p: ConsentProblem, fields: Record<string, unknown> = {}): ConsentProblem => {
        log.warn('consent.refused', { reason: p.reason, status: p.status, ...fields });
        return p;
      };
      // One-time: the state is deleted here, before anything else, whatever happens next.
      const consumed = await deps.logins.consume(query.state ?? '', browserKey);
      if (consumed.status === 'unknown') return refuse(problem('state_unknown', 400));
      const login = consumed.login;
      const ids = { customerId: login.customerId };
      if (consumed.status !== 'valid') {
        const reason = consumed.status === 'expired' ? 'state_expired' : 'other_browser';
        return refuse(problem(reason, 400, { retryPath: await retryPathFor(login.invitationToken) }), ids);
      }
      if (query.error) {
        // What the browser brings back is the browser's word, anyone holding a link can forge it (the
        // AADSTS code is read from its free text): it picks the page, never an operator alarm or a
        // 5xx. Our own faults show where Microsoft tells us directly, at the token endpoint.
        const aad = classifyAadError({
          error: query.error.slice(0, 100),
          description: query.error_description?.slice(0, 1000),
          subError: query.error_subcode?.slice(0, 100),
        });
        return refuse(fromBrowserError(aad.kind, await retryPathFor(login.invitationToken)), {
          ...ids,
          error: aad.error,
          aadsts: aad.code,
          source: 'browser',
        });
      }
      if (!query.code) {
        return refuse(
          problem('signin_failed', 400, { retryPath: await retryPathFor(login.invitationToken) }),
          ids,
        );
      }

      const opened = await openInvitation(login.invitationToken);
      if ('kind' in opened) return refuse(opened, ids);
      if (opened.customer.id.toLowerCase() !== login.customerId.toLowerCase()) {
        return refuse(problem('state_unknown', 400), ids);
      }
      const retryPath = invitationPath(login.invitationToken);

      let tokens: RedeemedTokens;
      try {
        tokens = await deps.signIn.redeemCode({
          code: query.code,
          codeVerifier: login.codeVerifier,
          nonce: login.nonce,
        });
      } catch (e) {
        if (!(e instanceof SignInError)) throw e;
        return refuse(fromSignInError(e, retryPath), {
          ...ids,
          error: e.aad.error,
          aadsts: e.aad.code,
        });
      }

      const checked = await checkConsent(
        { config: deps.config, authority: deps.authority, repos: deps.repos, graphFor },
        { tokens, nonce: login.nonce, customer: opened.customer, retryPath },
      );
      if (!checked.ok) return refuse(checked.problem, { ...ids, ...checked.fields });

      const done = await recordConsent(
        {
          config: deps.config,
          repos: deps.repos,
          secrets: deps.secrets,
          invitations: deps.invitations,
          audit: deps.audit,
          mailer: deps.mailer,
          ...(deps.notifyOrderingSystem ? { notifyOrderingSystem: deps.notifyOrderingSystem } : {}),
          now,
        },
        { opened, invitationToken: login.invitationToken, checked: checked.value, retryPath },
        log,
      );
      return 'problem' in done ? refuse(done.problem, done.fields) : done;
    },
  };
}

/** The scopes of a re-consent that the customer's grant lacks: marked as new on the invitation page. */
function newPermissionsOf(missing: readonly string[]): string[] {
  const key = (s: string) =>
    s
      .trim()
      .toLowerCase()
      .replace(/^https:\/\/graph\.microsoft\.com\//, '');
  const wanted = new Set(missing.map(key));
  return graphPermissions.filter((p) => wanted.has(key(p.scope))).map((p) => p.scope);
}
