import type { AccessToken, TokenCredential } from '@azure/identity';
import selfsigned from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { DependencyError } from '../../../../shared/errors';
import { createAppCredentialSource, parseCertificatePem } from '../../../../shared/identity/app-credential';
import type { SecretStore } from '../../../../shared/secrets/vault';

function secrets(values: Record<string, string>): SecretStore & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    get: async (name) => {
      reads.push(name);
      return values[name];
    },
    set: async () => ({ version: '1' }),
    remove: async () => undefined,
    probe: async () => undefined,
  };
}

const identity = {
  authorityHost: 'https://login.microsoftonline.com',
  clientId: '00001111-aaaa-2222-bbbb-3333cccc4444',
  clientSecretName: 'app-client-secret',
  certificateSecretName: 'app-client-certificate',
};
const noCredential: TokenCredential = { getToken: async () => null };

describe('the app registration’s credential', () => {
  it('reads the client secret from Key Vault once, not on every sign-in', async () => {
    const store = secrets({ 'app-client-secret': 's3cret' });
    const load = createAppCredentialSource({
      identity: { ...identity, credential: 'secret' },
      secrets: store,
      credential: noCredential,
    });
    await expect(load()).resolves.toEqual({ clientSecret: 's3cret' });
    await load();
    expect(store.reads).toEqual(['app-client-secret']);
  });

  it('says which secret is missing, and tries again next time', async () => {
    const store = secrets({});
    const load = createAppCredentialSource({
      identity: { ...identity, credential: 'secret' },
      secrets: store,
      credential: noCredential,
    });
    await expect(load()).rejects.toThrow(/app-client-secret is missing/);
    await expect(load()).rejects.toBeInstanceOf(DependencyError);
    expect(store.reads).toHaveLength(2);
  });

  it('uses the managed identity’s token for api://AzureADTokenExchange as the client assertion', async () => {
    const scopes: unknown[] = [];
    const credential: TokenCredential = {
      getToken: async (scope): Promise<AccessToken> => {
        scopes.push(scope);
        return { token: 'mi-assertion', expiresOnTimestamp: Date.now() + 3600_000 };
      },
    };
    const load = createAppCredentialSource({
      identity: { ...identity, credential: 'managed-identity' },
      secrets: secrets({}),
      credential,
    });
    const { clientAssertion } = await load();
    expect(typeof clientAssertion).toBe('function');
    const assertion = await (clientAssertion as (c: unknown) => Promise<string>)({});
    expect(assertion).toBe('mi-assertion');
    expect(scopes).toEqual(['api://AzureADTokenExchange/.default']);
  });

  it('reads a certificate from a PEM secret: private key, SHA-256 thumbprint, x5c', async () => {
    const generated = await selfsigned.generate([{ name: 'commonName', value: 'switchboard app' }], {
      keySize: 2048,
    });
    const pem = `${generated.private}\n${generated.cert}`;
    const load = createAppCredentialSource({
      identity: { ...identity, credential: 'certificate' },
      secrets: secrets({ 'app-client-certificate': pem }),
      credential: noCredential,
    });
    const { clientCertificate } = await load();
    expect(clientCertificate?.privateKey).toContain('PRIVATE KEY-----');
    expect(clientCertificate?.thumbprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(clientCertificate?.x5c).toContain('BEGIN CERTIFICATE');
    expect(() => parseCertificatePem(generated.cert)).toThrow(DependencyError);
  });
});
