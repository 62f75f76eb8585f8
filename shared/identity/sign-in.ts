import { ConfidentialClientApplication, LogLevel, ServerError, type Configuration } from '@azure/msal-node';
import type { Config } from '../config';
import { DependencyError } from '../errors';
import { classifyAadError, type ClassifiedAadError } from './aadsts';
import type { AppCredential } from './app-credential';
import type { Authority } from './authority';
import { consentScopes, graphScopes } from './scopes';

/**
 * The provider's multi-tenant app signing in a customer's admin with msal-node: the authorize URL
 * (auth code + PKCE, response_mode=query) and the code redemption. Each redemption gets its own
 * msal instance with an empty in-memory cache, so the refresh token read from it afterwards is this
 * admin's and nobody else's, and nothing lingers in the process.
 */
export interface AuthorizeRequest {
  state: string;
  nonce: string;
  codeChallenge: string;
  prompt: 'select_account' | 'consent';
  loginHint?: string;
}

export interface RedeemedTokens {
  accessToken: string;
  idToken: string;
  refreshToken: string | undefined;
  /** Scopes Microsoft actually granted. */
  scopes: string[];
}

/** Microsoft refused: the error as classified, safe to log (no token, no description text). */
export class SignInError extends Error {
  constructor(readonly aad: ClassifiedAadError) {
    super(`Microsoft refused the sign-in: ${aad.error}${aad.code ? ` (AADSTS${aad.code})` : ''}.`);
    this.name = 'SignInError';
  }
}

export interface SignInClient {
  authorizeUrl(request: AuthorizeRequest): Promise<string>;
  redeemCode(request: { code: string; codeVerifier: string; nonce: string }): Promise<RedeemedTokens>;
}

export function createSignInClient(deps: {
  identity: Config['identity'];
  redirectUri: string;
  authority: Authority;
  credential: () => Promise<AppCredential>;
  log?: (level: 'error' | 'warning', message: string) => void;
}): SignInClient {
  const newApp = async (withCredential: boolean) => {
    const { json } = await deps.authority.metadata();
    const config: Configuration = {
      auth: {
        clientId: deps.identity.clientId,
        authority: deps.authority.url,
        // Trusted host and metadata given: msal makes no instance discovery or metadata call.
        knownAuthorities: [deps.authority.host],
        authorityMetadata: json,
        // The authorize URL needs no credential; msal still insists on one being configured.
        ...(withCredential ? await deps.credential() : { clientSecret: 'not-used-for-the-authorize-url' }),
      },
      system: {
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: LogLevel.Warning,
          loggerCallback: (level, message) => {
            if (level === LogLevel.Error) deps.log?.('error', message);
            else if (level === LogLevel.Warning) deps.log?.('warning', message);
          },
        },
      },
    };
    return new ConfidentialClientApplication(config);
  };

  return {
    async authorizeUrl(request) {
      const app = await newApp(false);
      return app.getAuthCodeUrl({
        scopes: [...consentScopes],
        redirectUri: deps.redirectUri,
        responseMode: 'query',
        state: request.state,
        nonce: request.nonce,
        codeChallenge: request.codeChallenge,
        codeChallengeMethod: 'S256',
        prompt: request.prompt,
        ...(request.loginHint ? { loginHint: request.loginHint } : {}),
      });
    },

    async redeemCode({ code, codeVerifier, nonce }) {
      const app = await newApp(true);
      let result;
      try {
        result = await app.acquireTokenByCode({
          code,
          codeVerifier,
          nonce,
          redirectUri: deps.redirectUri,
          scopes: [...graphScopes],
        });
      } catch (e) {
        throw toSignInError(e);
      }
      if (!result?.accessToken || !result.idToken) {
        throw new SignInError({ kind: 'unknown', error: 'incomplete_token_response', code: undefined });
      }
      return {
        accessToken: result.accessToken,
        idToken: result.idToken,
        refreshToken: refreshTokenIn(app.getTokenCache().serialize()),
        scopes: result.scopes,
      };
    },
  };
}

/** msal keeps the refresh token to itself; its serialized cache is where it can be read. */
export function refreshTokenIn(serializedCache: string): string | undefined {
  const cache = JSON.parse(serializedCache) as { RefreshToken?: Record<string, { secret?: unknown }> };
  for (const entry of Object.values(cache.RefreshToken ?? {})) {
    if (typeof entry.secret === 'string' && entry.secret.length > 0) return entry.secret;
  }
  return undefined;
}

function toSignInError(e: unknown): Error {
  if (e instanceof ServerError) {
    return new SignInError(
      classifyAadError({
        error: e.errorCode,
        description: e.errorMessage,
        subError: e.subError,
        codes: e.errorNo ? [e.errorNo] : [],
        status: e.status,
      }),
    );
  }
  const code = (e as { errorCode?: unknown }).errorCode;
  if (code === 'nonce_mismatch') {
    return new SignInError({ kind: 'unknown', error: 'nonce_mismatch', code: undefined });
  }
  if (e instanceof DependencyError) return e;
  // Network failures and msal's own client errors: Microsoft could not be reached or understood.
  return new DependencyError('Microsoft sign-in', typeof code === 'string' ? code : 'token request failed', {
    cause: e,
  });
}
