import { X509Certificate } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { DependencyError } from '../errors';
import type { SecretStore } from '../secrets/vault';

/**
 * How the provider's app registration proves itself to Microsoft when it redeems a code or a
 * refresh token. The secret and the certificate live in Key Vault and are read again every few
 * minutes, so a rotation needs no restart. With `managed-identity` there is no secret at all: the
 * app's managed identity is a federated credential of the registration, and its token for
 * `api://AzureADTokenExchange` is the client assertion.
 */
export interface AppCredential {
  clientSecret?: string;
  /** The PEM private key, the certificate's SHA-256 thumbprint (hex) and the certificate (for `x5c`). */
  clientCertificate?: { privateKey: string; thumbprintSha256: string; x5c: string };
  /** A federated credential's assertion, asked for anew on each request (it expires). */
  clientAssertion?: () => Promise<string>;
}

export const TOKEN_EXCHANGE_SCOPE = 'api://AzureADTokenExchange/.default';
const RELOAD_MS = 10 * 60 * 1000;

export function createAppCredentialSource(deps: {
  identity: Config['identity'];
  secrets: SecretStore;
  credential: TokenCredential;
}): () => Promise<AppCredential> {
  let cached: { at: number; value: Promise<AppCredential> } | undefined;

  const load = async (): Promise<AppCredential> => {
    const { identity } = deps;
    switch (identity.credential) {
      case 'managed-identity':
        return {
          clientAssertion: async () => {
            const token = await deps.credential.getToken(TOKEN_EXCHANGE_SCOPE);
            if (!token) throw new DependencyError('managed identity', 'no token for the token exchange');
            return token.token;
          },
        };
      case 'secret': {
        const secret = await deps.secrets.get(identity.clientSecretName);
        if (!secret) throw missing(identity.clientSecretName);
        return { clientSecret: secret };
      }
      case 'certificate': {
        const pem = await deps.secrets.get(identity.certificateSecretName);
        if (!pem) throw missing(identity.certificateSecretName);
        return { clientCertificate: parseCertificatePem(pem) };
      }
    }
  };

  return () => {
    if (!cached || Date.now() - cached.at > RELOAD_MS) {
      const value = load();
      cached = { at: Date.now(), value };
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    return cached.value;
  };
}

function missing(name: string): DependencyError {
  return new DependencyError('key vault', `the app credential secret ${name} is missing`);
}

/**
 * A Key Vault certificate read as a secret is PEM: the private key and the certificate chain. The
 * assertion needs the key, the certificate's SHA-256 thumbprint (hex) and the certificate for `x5c`.
 */
export function parseCertificatePem(pem: string): NonNullable<AppCredential['clientCertificate']> {
  const key =
    /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(
      pem,
    );
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!key || !cert) {
    throw new DependencyError(
      'key vault',
      'the app certificate secret must hold a PEM private key and certificate',
    );
  }
  const x509 = new X509Certificate(cert[0]);
  return {
    privateKey: key[0],
    thumbprintSha256: x509.fingerprint256.replace(/:/g, '').toLowerCase(),
    x5c: cert[0],
  };
}
