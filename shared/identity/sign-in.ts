import type { Config } from '../config';
import { DependencyError } from '../errors';
import { classifyAadError, type ClassifiedAadError } from './aadsts';
import type { AppCredential } from './app-credential';
import type { Authority } from './authority';
import { consentScopes } from './scopes';
import { createTokenClient, TokenRequestError, type TokenClient } from './token-client';

/**
 * The provider's multi-tenant app signing in a customer's admin: the authorize URL (auth code +
 * PKCE, response_mode=query) and the code redemption, made directly at the v2.0 token endpoint
 * (token-client.ts), so the refresh token comes straight from Microsoft's answer and nothing of it
 * lingers in the process. The id token is checked afterwards (id-token.ts: signature, issuer, nonce).
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
  /** The token endpoint client; by default one for AUTHORITY_HOST with the credential above. */
  tokens?: TokenClient;
}): SignInClient {
  const tokens =
    deps.tokens ??
    createTokenClient({
      authorityHost: deps.identity.authorityHost,
      clientId: deps.identity.clientId,
      credential: deps.credential,
    });

  return {
    async authorizeUrl(request) {
      const { value } = await deps.authority.metadata();
      const url = new URL(value.authorization_endpoint);
      const params: Record<string, string> = {
        client_id: deps.identity.clientId,
        response_type: 'code',
        redirect_uri: deps.redirectUri,
        response_mode: 'query',
        scope: consentScopes.join(' '),
        state: request.state,
        nonce: request.nonce,
        code_challenge: request.codeChallenge,
        code_challenge_method: 'S256',
        prompt: request.prompt,
        ...(request.loginHint ? { login_hint: request.loginHint } : {}),
      };
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      return url.toString();
    },

    async redeemCode({ code, codeVerifier }) {
      let result;
      try {
        result = await tokens.redeemCode({
          code,
          codeVerifier,
          redirectUri: deps.redirectUri,
          scopes: consentScopes,
        });
      } catch (e) {
        throw toSignInError(e);
      }
      if (!result.idToken) {
        throw new SignInError({ kind: 'unknown', error: 'incomplete_token_response', code: undefined });
      }
      return {
        accessToken: result.accessToken,
        idToken: result.idToken,
        refreshToken: result.refreshToken,
        scopes: result.grantedScopes,
      };
    },
  };
}

function toSignInError(e: unknown): Error {
  if (!(e instanceof TokenRequestError)) {
    // The credential could not be loaded (Key Vault, managed identity): already named.
    if (e instanceof DependencyError) return e;
    return new DependencyError('Microsoft sign-in', 'token request failed', { cause: e });
  }
  const f = e.failure;
  // Microsoft answered with an error body: classify it. No body, or no answer: Microsoft is down.
  if (f.kind === 'http' && f.body?.error) {
    return new SignInError(
      classifyAadError({
        error: f.body.error,
        description: f.body.error_description,
        subError: f.body.suberror,
        codes: f.body.error_codes,
        status: f.status,
      }),
    );
  }
  return new DependencyError('Microsoft sign-in', e.message, { cause: e });
}
