import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { RestError } from '@azure/core-rest-pipeline';
import { SecretClient } from '@azure/keyvault-secrets';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  jwksTokenVerifier,
  startKeyVaultSimulator,
  type KeyVaultSimulator,
} from '../../../dev/keyvault/server';
import { ensureDevCertificates } from '../../../dev/tls/certs';

const tenantId = randomUUID();
let tls: { cert: string; key: string };
let jwksServer: Server;
let jwksUrl: string;
let signingKey: CryptoKey;
let vault: KeyVaultSimulator;

/** A credential that signs its own tokens and remembers what the SDK asked it for. */
class TestCredential implements TokenCredential {
  readonly requests: { scopes: string[]; tenantId: string | undefined }[] = [];
  constructor(
    private readonly key: () => CryptoKey,
    private readonly claims: { aud?: string; tid?: string } = {},
  ) {}
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    this.requests.push({ scopes: [scopes].flat(), tenantId: options?.tenantId });
    const token = await new SignJWT({ tid: this.claims.tid ?? tenantId })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
      .setAudience(this.claims.aud ?? 'https://vault.azure.net')
      .setIssuer(`https://sts.windows.net/${tenantId}/`)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(this.key());
    return { token, expiresOnTimestamp: Date.now() + 600_000 };
  }
}

function client(credential: TokenCredential = new TestCredential(() => signingKey)): SecretClient {
  return new SecretClient(vault.url, credential, { disableChallengeResourceVerification: true });
}

async function restError(promise: Promise<unknown>): Promise<RestError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RestError);
  return e as RestError;
}

beforeAll(async () => {
  const certs = await ensureDevCertificates();
  tls = { cert: certs.cert, key: certs.key };
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  jwksServer = createServer(tls, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `https://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/keys`;
  vault = await startKeyVaultSimulator({
    tls,
    tenantId,
    authority: 'https://login.microsoftonline.com',
    verifyToken: jwksTokenVerifier({ jwksUrl, tenantId }),
  });
});

afterAll(async () => {
  await vault?.stop();
  await new Promise((resolve) => jwksServer?.close(resolve));
});

describe('Key Vault simulator with the real SecretClient', () => {
  it('challenges an anonymous request exactly as Key Vault does', async () => {
    const res = await fetch(`${vault.url}/secrets/anything?api-version=7.5`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`,
    );
    expect(await res.json()).toEqual({
      error: { code: 'Unauthorized', message: 'Request is missing a Bearer or PoP token.' },
    });
  });

  it('makes the SDK ask for a vault token in the challenged tenant, then sets and gets', async () => {
    const credential = new TestCredential(() => signingKey);
    const secrets = client(credential);
    const set = await secrets.setSecret('refresh-token-a', 'v1-secret-value');
    expect(credential.requests[0]).toEqual({ scopes: ['https://vault.azure.net/.default'], tenantId });
    expect(set.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(set.properties.id).toBe(`${vault.url}/secrets/refresh-token-a/${set.properties.version}`);
    expect(set.properties.vaultUrl).toBe(vault.url);
    expect(set.properties.enabled).toBe(true);
    expect(set.properties.recoveryLevel).toBe('Recoverable+Purgeable');
    expect(set.properties.recoverableDays).toBe(90);
    expect(Math.abs(set.properties.createdOn!.getTime() - Date.now())).toBeLessThan(5000);
    const got = await secrets.getSecret('refresh-token-a');
    expect(got.value).toBe('v1-secret-value');
    expect(got.properties.version).toBe(set.properties.version);
  });

  it('makes a new version on every set and keeps the old ones readable', async () => {
    const secrets = client();
    const first = await secrets.setSecret('rotating', 'one');
    const second = await secrets.setSecret('rotating', 'two');
    expect(second.properties.version).not.toBe(first.properties.version);
    expect((await secrets.getSecret('rotating')).value).toBe('two');
    expect((await secrets.getSecret('rotating', { version: first.properties.version! })).value).toBe('one');
    const versions: string[] = [];
    for await (const p of secrets.listPropertiesOfSecretVersions('rotating')) versions.push(p.version!);
    expect(versions.sort()).toEqual([first.properties.version, second.properties.version].sort());
    // Names are case-insensitive in Key Vault.
    expect((await secrets.getSecret('ROTATING')).value).toBe('two');
  });

  it('round-trips tags and expiry, and updates properties without a new version', async () => {
    const secrets = client();
    const expiresOn = new Date(Math.floor(Date.now() / 1000 + 90 * 86400) * 1000);
    const set = await secrets.setSecret('tagged', 'value', {
      tags: { customer: 'contoso', kind: 'refresh-token' },
      expiresOn,
    });
    const got = await secrets.getSecret('tagged');
    expect(got.properties.tags).toEqual({ customer: 'contoso', kind: 'refresh-token' });
    expect(got.properties.expiresOn?.toISOString()).toBe(expiresOn.toISOString());
    const updated = await secrets.updateSecretProperties('tagged', set.properties.version!, {
      tags: { customer: 'contoso', state: 'revoked' },
    });
    expect(updated.version).toBe(set.properties.version);
    expect((await secrets.getSecret('tagged')).properties.tags).toEqual({
      customer: 'contoso',
      state: 'revoked',
    });
    await secrets.updateSecretProperties('tagged', set.properties.version!, { enabled: false });
    const disabled = await restError(secrets.getSecret('tagged'));
    expect(disabled.statusCode).toBe(403);
    expect(disabled.code).toBe('Forbidden');
  });

  it('keeps a content type set through the protocol (SDK 4.11 itself never sends one)', async () => {
    const { token } = await new TestCredential(() => signingKey).getToken('https://vault.azure.net/.default');
    const res = await fetch(`${vault.url}/secrets/typed?api-version=7.5`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ value: 'v', contentType: 'application/jwt', attributes: {} }),
    });
    expect(res.status).toBe(200);
    expect((await client().getSecret('typed')).properties.contentType).toBe('application/jwt');
  });

  it('pages listings 25 at a time through nextLink', async () => {
    const secrets = client();
    const names = Array.from({ length: 30 }, (_, i) => `paged-${String(i).padStart(2, '0')}`);
    for (const name of names) await secrets.setSecret(name, `value-${name}`);
    const pages: string[][] = [];
    for await (const page of secrets.listPropertiesOfSecrets().byPage()) pages.push(page.map((p) => p.name));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages[0]).toHaveLength(25);
    const listed = pages.flat();
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual(expect.arrayContaining(names));
    const small: number[] = [];
    for await (const page of secrets.listPropertiesOfSecrets().byPage({ maxPageSize: 7 }))
      small.push(page.length);
    expect(small.reduce((a, b) => a + b, 0)).toBe(listed.length);
  });

  it('soft-deletes, refuses to reuse the name, recovers, and purges', async () => {
    const secrets = client();
    await secrets.setSecret('soft', 'keep-me', { tags: { a: 'b' } });
    const deleted = await (await secrets.beginDeleteSecret('soft', { intervalInMs: 0 })).pollUntilDone();
    expect(deleted.recoveryId).toBe(`${vault.url}/deletedsecrets/soft`);
    expect(deleted.value).toBeUndefined();
    const days = (deleted.scheduledPurgeDate!.getTime() - deleted.deletedOn!.getTime()) / 86_400_000;
    expect(days).toBe(90);

    expect((await restError(secrets.getSecret('soft'))).statusCode).toBe(404);
    expect((await secrets.getDeletedSecret('soft')).properties.tags).toEqual({ a: 'b' });
    const listedDeleted: string[] = [];
    for await (const d of secrets.listDeletedSecrets()) listedDeleted.push(d.name);
    expect(listedDeleted).toContain('soft');

    const conflict = await restError(secrets.setSecret('soft', 'new'));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.code).toBe('Conflict');

    await (await secrets.beginRecoverDeletedSecret('soft', { intervalInMs: 0 })).pollUntilDone();
    expect((await secrets.getSecret('soft')).value).toBe('keep-me');

    await (await secrets.beginDeleteSecret('soft', { intervalInMs: 0 })).pollUntilDone();
    await secrets.purgeDeletedSecret('soft');
    const gone = await restError(secrets.getDeletedSecret('soft'));
    expect(gone.statusCode).toBe(404);
    expect(gone.code).toBe('SecretNotFound');
    expect((await secrets.setSecret('soft', 'fresh')).value).toBe('fresh');
  });

  it('answers an unknown secret with 404 SecretNotFound', async () => {
    const e = await restError(client().getSecret('never-set'));
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe('SecretNotFound');
    expect(e.message).toContain('never-set');
  });

  it('rejects a token signed by another key, for another tenant, or for another audience', async () => {
    const other = (await generateKeyPair('RS256')).privateKey;
    for (const credential of [
      new TestCredential(() => other),
      new TestCredential(() => signingKey, { tid: randomUUID() }),
      new TestCredential(() => signingKey, { aud: 'https://graph.microsoft.com' }),
    ]) {
      const e = await restError(client(credential).getSecret('refresh-token-a'));
      expect(e.statusCode).toBe(401);
      expect(e.code).toBe('Unauthorized');
    }
  });

  it('accepts the audience with a trailing slash', async () => {
    const credential = new TestCredential(() => signingKey, { aud: 'https://vault.azure.net/' });
    expect((await client(credential).setSecret('slash-audience', 'ok')).value).toBe('ok');
  });

  it('rejects a body that is not a JSON object with 400 BadParameter', async () => {
    const { token } = await new TestCredential(() => signingKey).getToken('https://vault.azure.net/.default');
    const res = await fetch(`${vault.url}/secrets/malformed?api-version=7.5`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: '{"value": ',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BadParameter');
    expect(vault.peek('malformed')).toBeUndefined();
  });

  it('rejects an invalid name with 400 BadParameter', async () => {
    for (const name of ['under_score', '1starts-with-digit', 'x'.repeat(128)]) {
      const e = await restError(client().setSecret(name, 'x'));
      expect(e.statusCode).toBe(400);
      expect(e.code).toBe('BadParameter');
    }
  });
});

describe('Key Vault simulator persistence', () => {
  it('keeps secrets in its data file across a restart, and soft-deleted state too', async () => {
    const dataFile = path.join(mkdtempSync(path.join(tmpdir(), 'kv-')), 'secrets.json');
    const start = () =>
      startKeyVaultSimulator({
        tls,
        tenantId,
        dataFile,
        verifyToken: jwksTokenVerifier({ jwksUrl, tenantId }),
      });
    const first = await start();
    const secrets1 = new SecretClient(first.url, new TestCredential(() => signingKey), {
      disableChallengeResourceVerification: true,
    });
    await secrets1.setSecret('persisted', 'survives');
    await secrets1.setSecret('removed', 'x');
    await (await secrets1.beginDeleteSecret('removed', { intervalInMs: 0 })).pollUntilDone();
    await first.stop();

    const second = await start();
    try {
      const secrets2 = new SecretClient(second.url, new TestCredential(() => signingKey), {
        disableChallengeResourceVerification: true,
      });
      expect((await secrets2.getSecret('persisted')).value).toBe('survives');
      expect((await restError(secrets2.setSecret('removed', 'y'))).statusCode).toBe(409);
      expect(second.peek('persisted')?.value).toBe('survives');
      expect(JSON.parse(readFileSync(dataFile, 'utf8'))).toHaveProperty('secrets');
    } finally {
      await second.stop();
      rmSync(path.dirname(dataFile), { recursive: true, force: true });
    }
  });
});
