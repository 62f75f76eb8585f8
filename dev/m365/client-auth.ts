import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import { aad, type AadError } from './aad-errors';
import { aliases, type Exchange, type SimContext } from './context';
import { basicCredentials } from './http-util';
import type { SeedApp } from './seed';

/**
 * Client authentication at the token endpoint: client_secret in the body (client_secret_post), HTTP
 * Basic (client_secret_basic), or a signed JWT as client_assertion (private_key_jwt) — either made
 * with one of the app's registered certificates, or a token this simulator issued that matches a
 * federated identity credential (a managed identity standing in for the secret).
 */

export type ClientAuth = { app: SeedApp; appidacr: '1' | '2' } | { error: AadError };

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const skewSeconds = 300;

export async function authenticateClient(
  ctx: SimContext,
  ex: Exchange,
  form: Map<string, string>,
  tenantSegment: string,
  directoryName: string,
): Promise<ClientAuth> {
  const basic = basicCredentials(ex.req);
  const assertion = form.get('client_assertion');
  let clientId = form.get('client_id') ?? basic?.id;
  if (!clientId && assertion) {
    try {
      clientId = String(decodeJwt(assertion).iss ?? '');
    } catch {
      return { error: aad.assertionMalformed() };
    }
  }
  if (!clientId) return { error: aad.missingParameter('client_id') };
  const app = ctx.state.findApp(clientId);
  if (!app) return { error: aad.appNotFound(clientId, directoryName) };

  if (assertion) {
    if (form.get('client_assertion_type') !== assertionType)
      return { error: aad.missingParameter('client_assertion_type') };
    const error = await verifyAssertion(ctx, ex, app, assertion, tenantSegment);
    return error ? { error } : { app, appidacr: '2' };
  }
  const secret = form.get('client_secret') ?? basic?.secret;
  if (!secret) return { error: aad.missingCredential() };
  const match = app.clientSecrets.find((s) => s.value === secret);
  if (!match) return { error: aad.invalidSecret(app.clientId) };
  if (match.endDateTime && Date.parse(match.endDateTime) <= ctx.state.now())
    return { error: aad.expiredSecret(app.clientId) };
  return { app, appidacr: '1' };
}

async function verifyAssertion(
  ctx: SimContext,
  ex: Exchange,
  app: SeedApp,
  assertion: string,
  tenantSegment: string,
): Promise<AadError | undefined> {
  let claims: Record<string, unknown>;
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(assertion) as Record<string, unknown>;
    claims = decodeJwt(assertion) as Record<string, unknown>;
  } catch {
    return aad.assertionMalformed();
  }
  const now = Math.floor(ctx.state.now() / 1000);
  const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
  const nbf = typeof claims.nbf === 'number' ? claims.nbf : undefined;
  if (exp === undefined || exp + skewSeconds < now || (nbf !== undefined && nbf - skewSeconds > now)) {
    return aad.assertionTime();
  }
  const audiences = (Array.isArray(claims.aud) ? claims.aud : [claims.aud]).map(String);

  if (ctx.keys.issued(assertion)) {
    // Workload identity federation: a token from this simulator (e.g. the managed identity's).
    try {
      await ctx.keys.verifySignature(assertion);
    } catch {
      return aad.assertionSignature();
    }
    const iss = String(claims.iss ?? '');
    const sub = String(claims.sub ?? '');
    const credentials = app.federatedCredentials ?? [];
    const byIssuer = credentials.filter((fc) => issuersOf(ctx, app, fc).includes(iss));
    if (!byIssuer.length) return aad.assertionIssuer(iss);
    const bySubject = byIssuer.filter((fc) => fc.subject === sub);
    if (!bySubject.length) return aad.assertionSubject(sub);
    if (!bySubject.some((fc) => fc.audiences.some((a) => audiences.includes(a)))) {
      return aad.assertionAudience(audiences.join(','));
    }
    return undefined;
  }

  // A certificate credential: iss and sub are the client id, aud the token endpoint. The header names
  // the certificate by thumbprint (x5t#S256, or the older SHA-1 x5t); an unknown one is refused.
  let verified = false;
  for (const key of registeredKeys(app, header)) {
    try {
      await compactVerify(assertion, key, { algorithms: ['RS256', 'PS256'] });
      verified = true;
      break;
    } catch {
      // try the next registered key
    }
  }
  if (!verified) return aad.assertionSignature();
  if (claims.iss !== app.clientId || claims.sub !== app.clientId) return aad.assertionClientMismatch();
  const segments = [tenantSegment.toLowerCase()];
  const tenant = ctx.state.findTenant(tenantSegment);
  if (tenant) segments.push(tenant.id);
  const accepted = aliases(ctx.port).flatMap((host) =>
    segments.map((s) => `https://${host}/${s}/oauth2/v2.0/token`),
  );
  if (!audiences.some((a) => accepted.includes(a.toLowerCase()))) return aad.assertionMalformed();
  return undefined;
}

function issuersOf(ctx: SimContext, app: SeedApp, fc: { issuer?: string; tenantId?: string }): string[] {
  if (fc.issuer) return [fc.issuer];
  const tenantId = fc.tenantId ?? app.homeTenantId;
  return aliases(ctx.port).map((host) => `https://${host}/${tenantId}/v2.0`);
}

/**
 * The registered keys an assertion may be checked against: certificates whose thumbprint the header
 * names, and bare public keys (registered without a certificate, so they have no thumbprint).
 */
function registeredKeys(app: SeedApp, header: Record<string, unknown>): KeyObject[] {
  const thumbprint = (algorithm: 'sha256' | 'sha1', der: Buffer) =>
    createHash(algorithm).update(der).digest('base64url');
  return (app.certificates ?? []).flatMap((pem) => {
    if (!pem.includes('BEGIN CERTIFICATE')) return [createPublicKey(pem)];
    const cert = new X509Certificate(pem);
    const named =
      header['x5t#S256'] === thumbprint('sha256', cert.raw) || header.x5t === thumbprint('sha1', cert.raw);
    return named ? [cert.publicKey] : [];
  });
}
