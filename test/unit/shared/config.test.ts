import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../shared/config';

const valid = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  KEY_VAULT_URL: 'https://switchboard-kv.vault.azure.net/',
  EMAIL_ENDPOINT: 'https://switchboard.europe.communication.azure.com',
  EMAIL_SENDER_ADDRESS: 'DoNotReply@mail.provider.example',
  APP_CLIENT_ID: '00001111-aaaa-2222-bbbb-3333cccc4444',
  PUBLIC_BASE_URL: 'https://portal.provider.example',
};

function problems(env: Record<string, string | undefined>): { setting: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('loadConfig', () => {
  it('builds the configuration with defaults for what may be left out', () => {
    const config = loadConfig(valid);
    expect(config.keyVault.url).toBe('https://switchboard-kv.vault.azure.net');
    expect(config.keyVault.verifyChallengeResource).toBe(true);
    expect(config.identity.authorityHost).toBe('https://login.microsoftonline.com');
    expect(config.graph.baseUrl).toBe('https://graph.microsoft.com');
    expect(config.portal.redirectUri).toBe('https://portal.provider.example/authenticate/OAuth2Callback');
    expect(config.storage).toEqual({
      kind: 'connectionString',
      connectionString: 'UseDevelopmentStorage=true',
      namePrefix: '',
    });
  });

  it('names every missing setting at once', () => {
    const names = problems({}).map((p) => p.setting);
    expect(names).toEqual(
      expect.arrayContaining([
        'AzureWebJobsStorage',
        'KEY_VAULT_URL',
        'EMAIL_ENDPOINT',
        'EMAIL_SENDER_ADDRESS',
        'APP_CLIENT_ID',
        'PUBLIC_BASE_URL',
      ]),
    );
    expect(problems({}).find((p) => p.setting === 'KEY_VAULT_URL')?.message).toBe('is required');
  });

  it("shares Graph's app-wide budget among at most REPLICATION_MAX_INSTANCES instances (100 by default, a positive whole number)", () => {
    expect(loadConfig(valid).replication.maxInstances).toBe(100);
    expect(loadConfig({ ...valid, REPLICATION_MAX_INSTANCES: '40' }).replication.maxInstances).toBe(40);
    expect(problems({ ...valid, REPLICATION_MAX_INSTANCES: '0' }).map((p) => p.setting)).toEqual([
      'REPLICATION_MAX_INSTANCES',
    ]);
  });

  it('treats an empty setting as missing', () => {
    expect(problems({ ...valid, KEY_VAULT_URL: '' })).toEqual([
      { setting: 'KEY_VAULT_URL', message: 'is required' },
    ]);
  });

  it('names a malformed setting and says what is wrong with it', () => {
    expect(problems({ ...valid, KEY_VAULT_URL: 'http://vault.example' })).toEqual([
      { setting: 'KEY_VAULT_URL', message: 'must be an https:// URL' },
    ]);
    expect(problems({ ...valid, APP_CLIENT_ID: 'my-app' }).map((p) => p.setting)).toEqual(['APP_CLIENT_ID']);
    expect(
      problems({ ...valid, KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: 'maybe' }).map((p) => p.setting),
    ).toEqual(['KEY_VAULT_VERIFY_CHALLENGE_RESOURCE']);
  });

  it('accepts identity-based storage endpoints instead of a connection string', () => {
    const { AzureWebJobsStorage: _, ...rest } = valid;
    const config = loadConfig({
      ...rest,
      AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net',
      AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net',
    });
    expect(config.storage.kind).toBe('identity');
    expect(
      problems({ ...rest, AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net' })[0]
        ?.setting,
    ).toBe('AzureWebJobsStorage');
  });

  it('allows a plain http public address only on the loopback', () => {
    expect(loadConfig({ ...valid, PUBLIC_BASE_URL: 'http://localhost:7071' }).portal.redirectUri).toBe(
      'http://localhost:7071/authenticate/OAuth2Callback',
    );
    expect(
      problems({ ...valid, PUBLIC_BASE_URL: 'http://portal.provider.example' }).map((p) => p.setting),
    ).toEqual(['PUBLIC_BASE_URL']);
  });

  it('never echoes a setting value in its error', () => {
    const secretLooking = 'DefaultEndpointsProtocol=https;AccountKey=c2VjcmV0';
    const e = (() => {
      try {
        loadConfig({ ...valid, AzureWebJobsStorage: secretLooking, KEY_VAULT_URL: 'nope' });
      } catch (err) {
        return err as Error;
      }
    })();
    expect(e?.message).toContain('KEY_VAULT_URL');
    expect(e?.message).not.toContain('c2VjcmV0');
  });
});
