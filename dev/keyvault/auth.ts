import { createRemoteJWKSet, jwtVerify } from 'jose';

/** Decides whether a bearer token may use the vault. */
export type TokenVerifier = (token: string) => boolean | Promise<boolean>;

export interface JwksTokenVerifierOptions {
  /** Where the identity provider publishes its signing keys (https). */
  jwksUrl: string;
  /** Key Vault's resource; tokens carry it with or without a trailing slash depending on how they were asked for. */
  audience?: string;
  /** When set, the token's `tid` must name the vault's tenant, as Key Vault requires. */
  tenantId?: string;
  /** When set, the token's `iss` must be one of these. */
  issuer?: string | string[];
}

/** A verifier that checks signature, expiry, audience (and optionally tenant and issuer) against a JWKS. */
export function jwksTokenVerifier(options: JwksTokenVerifierOptions): TokenVerifier {
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl));
  const resource = (options.audience ?? 'https://vault.azure.net').replace(/\/+$/, '');
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, jwks, {
        audience: [resource, `${resource}/`],
        ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
      });
      return options.tenantId === undefined || payload.tid === options.tenantId;
    } catch {
      return false;
    }
  };
}
