import { createHash, createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, SignJWT, type JWTPayload } from 'jose';
import selfsigned from 'selfsigned';

/**
 * The token signing key. Microsoft publishes its keys as X.509 certificates (x5c) whose SHA-1
 * thumbprint is both `x5t` and `kid`; the simulator does the same with one self-signed RSA
 * certificate, kept in the data file so tokens survive a restart.
 */
export interface SigningKeyMaterial {
  privateKeyPem: string;
  certificatePem: string;
}

export interface VerifiedJwt {
  payload: JWTPayload & Record<string, unknown>;
  header: Record<string, unknown>;
}

export class SigningKeys {
  readonly kid: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly certDer: Buffer;

  private constructor(readonly material: SigningKeyMaterial) {
    this.privateKey = createPrivateKey(material.privateKeyPem);
    const cert = new X509Certificate(material.certificatePem);
    this.publicKey = cert.publicKey;
    this.certDer = cert.raw;
    this.kid = createHash('sha1').update(this.certDer).digest('base64url');
  }

  static async create(material?: SigningKeyMaterial): Promise<SigningKeys> {
    if (material) return new SigningKeys(material);
    const now = Date.now();
    const generated = await selfsigned.generate(
      [{ name: 'commonName', value: 'Switchboard simulated Microsoft 365 token signing' }],
      {
        keySize: 2048,
        algorithm: 'sha256',
        notBeforeDate: new Date(now - 24 * 3600 * 1000),
        notAfterDate: new Date(now + 5 * 365 * 24 * 3600 * 1000),
      },
    );
    return new SigningKeys({ privateKeyPem: generated.private, certificatePem: generated.cert });
  }

  /** One JWK as served by /discovery/v2.0/keys. */
  jwk(issuer: string): Record<string, unknown> {
    const { n, e } = this.publicKey.export({ format: 'jwk' });
    return {
      kty: 'RSA',
      use: 'sig',
      kid: this.kid,
      x5t: this.kid,
      n,
      e,
      x5c: [this.certDer.toString('base64')],
      issuer,
    };
  }

  /** Signs a JWT. Access tokens carry x5t and kid, id tokens only kid (as Microsoft's do). */
  async sign(claims: Record<string, unknown>, withX5t: boolean): Promise<string> {
    const header = withX5t
      ? { typ: 'JWT', alg: 'RS256', x5t: this.kid, kid: this.kid }
      : { typ: 'JWT', alg: 'RS256', kid: this.kid };
    return new SignJWT(claims).setProtectedHeader(header).sign(this.privateKey);
  }

  /** Checks the signature only (the caller checks claims against its own clock). */
  async verifySignature(token: string): Promise<VerifiedJwt> {
    const header = decodeProtectedHeader(token) as Record<string, unknown>;
    if (header.kid !== undefined && header.kid !== this.kid) throw new Error('unknown signing key');
    // Signature only: expiry is judged by the simulator's clock, which tests can move forward.
    const { payload } = await compactVerify(token, this.publicKey, { algorithms: ['RS256'] });
    const claims: unknown = JSON.parse(new TextDecoder().decode(payload));
    if (typeof claims !== 'object' || claims === null) throw new Error('JWT payload is not an object');
    return { payload: claims as VerifiedJwt['payload'], header };
  }

  /** True when the JWT header names this key, i.e. the simulator issued the token. */
  issued(token: string): boolean {
    try {
      return decodeProtectedHeader(token).kid === this.kid;
    } catch {
      return false;
    }
  }
}
