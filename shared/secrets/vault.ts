import type { TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import type { Config } from '../config';
import { DependencyError, ValidationError } from '../errors';
import { describeRestError, restErrorInfo } from '../rest-error';

/**
 * Secrets live only in Key Vault. This is the one door to it: names are checked (the SDK does not),
 * a missing secret is `undefined`, and any failure to reach the vault is reported as the Key Vault
 * dependency without the value or the vault's answer body.
 */
export interface SecretStore {
  get(name: string): Promise<string | undefined>;
  set(
    name: string,
    value: string,
    options?: { tags?: Record<string, string>; expiresOn?: Date; contentType?: string },
  ): Promise<{ version: string }>;
  /** Soft-deletes the secret (Key Vault keeps it recoverable for its retention period). */
  remove(name: string): Promise<void>;
  /** Proves the vault answers and the app may read it (used by the health check). */
  probe(): Promise<void>;
}

const SECRET_NAME = /^[A-Za-z][A-Za-z0-9-]{0,126}$/;

export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new ValidationError(`'${name}' is not a valid Key Vault secret name.`, [
      { field: 'name', message: '1-127 letters, digits and dashes, starting with a letter' },
    ]);
  }
}

export function createSecretStore(keyVault: Config['keyVault'], credential: TokenCredential): SecretStore {
  const client = new SecretClient(keyVault.url, credential, {
    disableChallengeResourceVerification: !keyVault.verifyChallengeResource,
    retryOptions: { maxRetries: 2 },
  });
  const fail = (what: string, e: unknown): never => {
    throw new DependencyError('key vault', `${what}: ${describeRestError(e)}`, { cause: e });
  };
  return {
    async get(name) {
      assertSecretName(name);
      try {
        const secret = await client.getSecret(name);
        return secret.value;
      } catch (e) {
        if (restErrorInfo(e)?.statusCode === 404) return undefined;
        return fail(`reading secret ${name}`, e);
      }
    },
    async set(name, value, options = {}) {
      assertSecretName(name);
      try {
        const res = await client.setSecret(name, value, {
          ...(options.tags ? { tags: options.tags } : {}),
          ...(options.expiresOn ? { expiresOn: options.expiresOn } : {}),
          ...(options.contentType ? { contentType: options.contentType } : {}),
        });
        return { version: res.properties.version ?? '' };
      } catch (e) {
        return fail(`writing secret ${name}`, e);
      }
    },
    async remove(name) {
      assertSecretName(name);
      try {
        const poller = await client.beginDeleteSecret(name);
        await poller.pollUntilDone();
      } catch (e) {
        if (restErrorInfo(e)?.statusCode === 404) return;
        fail(`deleting secret ${name}`, e);
      }
    },
    async probe() {
      try {
        await client.listPropertiesOfSecrets().byPage({ maxPageSize: 1 }).next();
      } catch (e) {
        fail('listing secrets', e);
      }
    },
  };
}
