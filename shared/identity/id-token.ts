import { errors as joseErrors, jwtVerify } from 'jose';
import type { Authority } from './authority';

/**
 * Checks an id token ourselves (the code is redeemed without a library). The signature must verify against
 * the authority's published keys, the audience must be our app, the issuer must be the tenant the
 * token names, and the nonce must be the one this login sent. `preferred_username` is kept for
 * display only; decisions use `oid` and `tid` (Microsoft: the name can change).
 */
export interface SignedInAdmin {
  tenantId: string;
  objectId: string;
  /** The sign-in name, for display and the audit log. */
  username: string | undefined;
  name: string | undefined;
}

export class IdTokenError extends Error {
  constructor(readonly reason: string) {
    super(`The id token was refused: ${reason}.`);
    this.name = 'IdTokenError';
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function verifyIdToken(
  idToken: string,
  expected: { authority: Authority; clientId: string; nonce: string; clockToleranceSeconds?: number },
): Promise<SignedInAdmin> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(idToken, await expected.authority.keys(), {
      audience: expected.clientId,
      algorithms: ['RS256'],
      clockTolerance: expected.clockToleranceSeconds ?? 300,
      requiredClaims: ['iss', 'aud', 'exp', 'iat', 'tid', 'oid', 'nonce'],
    }));
  } catch (e) {
    if (e instanceof joseErrors.JOSEError) throw new IdTokenError(e.code);
    throw e;
  }
  const tid = typeof payload.tid === 'string' ? payload.tid.toLowerCase() : '';
  if (!GUID.test(tid)) throw new IdTokenError('tid is not a tenant id');
  if (payload.iss !== (await expected.authority.issuerFor(tid))) throw new IdTokenError('issuer mismatch');
  if (payload.nonce !== expected.nonce) throw new IdTokenError('nonce mismatch');
  const oid = typeof payload.oid === 'string' ? payload.oid.toLowerCase() : '';
  if (!GUID.test(oid)) throw new IdTokenError('oid is not an object id');
  return {
    tenantId: tid,
    objectId: oid,
    username: typeof payload.preferred_username === 'string' ? payload.preferred_username : undefined,
    name: typeof payload.name === 'string' ? payload.name : undefined,
  };
}
