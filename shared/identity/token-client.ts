import { createPrivateKey, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { z } from 'zod';
import type { AppCredential } from './app-credential';

/**
 * The one way Switchboard redeems anything at Microsoft: a plain POST to the identity platform's
 * v2.0 token endpoint, for an authorization code (with the PKCE verifier) or a refresh token. No
 * library sits in between, so the refresh token Microsoft returns is ours to keep (no cache to read
 * it back out of) and a refusal arrives as Microsoft's own body (`error`, `error_codes`, `suberror`),
 * which shared/tokens/rules.ts classifies. The app proves itself with its credential as configured:
 * client secret, certificate (a signed assertion), or the managed identity as a federated credential.
 */

export interface TokenSet {
  accessToken: string;
  /** Absent when Microsoft sent none (no `offline_access`). */
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** What Microsoft actually granted (the response's `scope`, split). */
  grantedScopes: string[];
  /** When the access token stops working, computed from `expires_in` at receipt. */
  expiresAt: Date;
}

/** Microsoft's error body, as documented (refdata token-error-*.json); every field may be missing. */
export interface TokenErrorBody {
  error?: string;
  error_description?: string;
  error_codes?: number[];
  suberror?: string;
  timestamp?: string;
  trace_id?: string;
  correlation_id?: string;
  error_uri?: string;
}

/** What went wrong, as raw facts; shared/tokens/rules.ts decides what they mean. */
export type TokenFailure =
  | { kind: 'network'; message: string }
  | {
      kind: 'http';
      status: number;
      /** The Retry-After header as sent (seconds, possibly fractional, or an HTTP date). */
      retryAfter: string | undefined;
      body: TokenErrorBody | undefined;
    };

/** The token endpoint refused or could not be reached. The message names the error, never a token. */
export class TokenRequestError extends Error {
  constructor(readonly failure: TokenFailure) {
    super(describeFailure(failure));
    this.name = 'TokenRequestError';
  }
}

export function describeFailure(f: TokenFailure): string {
  if (f.kind === 'network') return `Microsoft's token endpoint could not be reached (${f.message}).`;
  const code = f.body?.error_codes?.[0];
  return (
    `Microsoft's token endpoint answered HTTP ${f.status}` +
    `${f.body?.error ? ` ${f.body.error}` : ''}${code ? ` (AADSTS${code})` : ''}` +
    `${f.body?.suberror ? ` suberror ${f.body.suberror}` : ''}.`
  );
}

export interface TokenClient {
  redeemCode(request: {
    code: string;
    codeVerifier: string;
    redirectUri: string;
    scopes: readonly string[];
  }): Promise<TokenSet>;
  /** Redeems a refresh token at the customer's tenant; the answer carries a new refresh token. */
  redeemRefreshToken(request: {
    refreshToken: string;
    tenantId: string;
    scopes: readonly string[];
  }): Promise<TokenSet>;
}

export interface TokenClientDeps {
  /** AUTHORITY_HOST, e.g. https://login.microsoftonline.com */
  authorityHost: string;
  clientId: string;
  credential: () => Promise<AppCredential>;
  timeoutMs?: number;
  now?: () => Date;
  fetch?: typeof fetch;
}

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const successSchema = z.object({
  token_type: z.string().optional(),
  scope: z.string().optional(),
  expires_in: z.union([z.number(), z.string()]).optional(),
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  id_token: z.string().min(1).optional(),
});

const errorSchema = z.looseObject({
  error: z.string().optional(),
  error_description: z.string().optional(),
  error_codes: z.array(z.union([z.number(), z.string()])).optional(),
  suberror: z.string().optional(),
  timestamp: z.string().optional(),
  trace_id: z.string().optional(),
  correlation_id: z.string().optional(),
  error_uri: z.string().optional(),
});

export function createTokenClient(deps: TokenClientDeps): TokenClient {
  const base = deps.authorityHost.replace(/\/+$/, '');
  const now = deps.now ?? (() => new Date());
  const doFetch = deps.fetch ?? fetch;
  const endpoint = (tenant: string) => `${base}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;

  const post = async (url: string, fields: Record<string, string>): Promise<TokenSet> => {
    const form = new URLSearchParams({ client_id: deps.clientId, ...fields });
    for (const [k, v] of Object.entries(await clientAuthentication(url))) form.set(k, v);
    let res: Response;
    let text: string;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(deps.timeoutMs ?? 15_000),
      });
      text = await res.text();
    } catch (e) {
      throw new TokenRequestError({ kind: 'network', message: networkReason(e) });
    }
    const json = parseJson(text);
    if (!res.ok) {
      const parsed = errorSchema.safeParse(json);
      const body: TokenErrorBody | undefined = parsed.success
        ? {
            ...parsed.data,
            error_codes: (parsed.data.error_codes ?? [])
              .map((c) => Number(c))
              .filter((c) => Number.isInteger(c)),
          }
        : undefined;
      throw new TokenRequestError({
        kind: 'http',
        status: res.status,
        retryAfter: res.headers.get('retry-after') ?? undefined,
        body,
      });
    }
    const ok = successSchema.safeParse(json);
    if (!ok.success) {
      // A 200 we cannot read is Microsoft misbehaving, not the customer's grant failing.
      throw new TokenRequestError({ kind: 'http', status: 502, retryAfter: undefined, body: undefined });
    }
    const expiresIn = Number(ok.data.expires_in ?? 3599);
    return {
      accessToken: ok.data.access_token,
      refreshToken: ok.data.refresh_token,
      idToken: ok.data.id_token,
      grantedScopes: (ok.data.scope ?? '').split(/\s+/).filter(Boolean),
      expiresAt: new Date(now().getTime() + (Number.isFinite(expiresIn) ? expiresIn : 3599) * 1000),
    };
  };

  /** client_secret, or a client_assertion: our certificate's signed JWT, or the federated token. */
  const clientAuthentication = async (audience: string): Promise<Record<string, string>> => {
    const credential = await deps.credential();
    if (credential.clientAssertion) {
      return {
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await credential.clientAssertion(),
      };
    }
    if (credential.clientCertificate) {
      return {
        client_assertion_type: CLIENT_ASSERTION_TYPE,
        client_assertion: await certificateAssertion(
          credential.clientCertificate,
          deps.clientId,
          audience,
          now(),
        ),
      };
    }
    if (credential.clientSecret) return { client_secret: credential.clientSecret };
    throw new Error('The app credential has neither a secret, a certificate nor an assertion.');
  };

  return {
    redeemCode: ({ code, codeVerifier, redirectUri, scopes }) =>
      post(endpoint('organizations'), {
        grant_type: 'authorization_code',
        code,
        code_verifier: codeVerifier,
        redirect_uri: redirectUri,
        scope: scopes.join(' '),
      }),
    redeemRefreshToken: ({ refreshToken, tenantId, scopes }) =>
      post(endpoint(tenantId), {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        scope: scopes.join(' '),
      }),
  };
}

/**
 * A certificate credential's assertion as Microsoft documents it: iss = sub = client id, aud = the
 * token endpoint, a fresh jti, ten minutes of life, and the certificate named by its SHA-256
 * thumbprint (`x5t#S256`, which Microsoft pairs with PS256).
 */
export async function certificateAssertion(
  certificate: NonNullable<AppCredential['clientCertificate']>,
  clientId: string,
  audience: string,
  at: Date,
): Promise<string> {
  const key = createPrivateKey(certificate.privateKey);
  const thumbprint = Buffer.from(certificate.thumbprintSha256, 'hex').toString('base64url');
  const der = Buffer.from(
    certificate.x5c.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''),
    'base64',
  );
  const iat = Math.floor(at.getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({
      alg: key.asymmetricKeyType === 'ec' ? 'ES256' : 'PS256',
      typ: 'JWT',
      'x5t#S256': thumbprint,
      x5c: [der.toString('base64')],
    })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setJti(randomUUID())
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + 600)
    .sign(key);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The kind of network failure, never the request (which holds the credential and the token). */
function networkReason(e: unknown): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return 'timed out';
  const cause = (e as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : 'fetch failed';
}
