import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { DependencyError } from '../errors';

/**
 * The Microsoft identity platform as seen from one authority host: its OpenID Connect metadata for
 * work and school accounts (`/organizations`) and its signing keys. Both are fetched once per
 * process and shared by every sign-in; the authorize URL is built from its `authorization_endpoint`.
 */
const metadataSchema = z.looseObject({
  issuer: z.string().min(1),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
});
export type OpenIdMetadata = z.infer<typeof metadataSchema>;

export interface Authority {
  /** `https://login.microsoftonline.com/organizations`. */
  readonly url: string;
  /** Host (and port) of the authority, for the CSP. */
  readonly host: string;
  metadata(): Promise<{ value: OpenIdMetadata; json: string }>;
  /** The keys that sign id tokens, refetched by jose when an unknown kid appears. */
  keys(): Promise<JWTVerifyGetKey>;
  /** The issuer an id token from `tenantId` must carry. */
  issuerFor(tenantId: string): Promise<string>;
}

const METADATA_TTL_MS = 24 * 3600 * 1000;

export function createAuthority(authorityHost: string, options: { timeoutMs?: number } = {}): Authority {
  const base = authorityHost.replace(/\/+$/, '');
  const url = `${base}/organizations`;
  let cached: { at: number; value: Promise<{ value: OpenIdMetadata; json: string }> } | undefined;
  let jwks: { uri: string; get: JWTVerifyGetKey } | undefined;

  const load = async () => {
    const where = `${url}/v2.0/.well-known/openid-configuration`;
    let body: unknown;
    try {
      const res = await fetch(where, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = await res.json();
    } catch (e) {
      throw new DependencyError('Microsoft sign-in', `OpenID configuration: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const parsed = metadataSchema.safeParse(body);
    if (!parsed.success) {
      throw new DependencyError('Microsoft sign-in', 'the OpenID configuration is not usable');
    }
    return { value: parsed.data, json: JSON.stringify(parsed.data) };
  };

  const metadata = () => {
    if (!cached || Date.now() - cached.at > METADATA_TTL_MS) {
      const value = load();
      cached = { at: Date.now(), value };
      // A failed fetch is not cached: the next sign-in tries again.
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    return cached.value;
  };

  return {
    url,
    host: new URL(base).host,
    metadata,
    async keys() {
      const { value } = await metadata();
      if (jwks?.uri !== value.jwks_uri) {
        jwks = { uri: value.jwks_uri, get: createRemoteJWKSet(new URL(value.jwks_uri)) };
      }
      return jwks.get;
    },
    async issuerFor(tenantId) {
      const { value } = await metadata();
      return value.issuer.replace(/\{tenantid\}/i, tenantId);
    },
  };
}
