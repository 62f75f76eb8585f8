import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '../../../../shared/identity/authority';
import { IdTokenError, verifyIdToken } from '../../../../shared/identity/id-token';

const clientId = '6cb04018-a3f5-46a7-b995-940c78f5aef3';
const tid = '9122040d-6c67-4c5b-b112-36a304b66dad';
const oid = '00000000-0000-0000-66f3-3332eca7ea81';
const host = 'https://login.example';

let key: CryptoKey;
let otherKey: CryptoKey;
let authority: Authority;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const jwks = createLocalJWKSet({ keys: [jwk] });
  authority = {
    url: `${host}/organizations`,
    host: 'login.example',
    metadata: async () => {
      throw new Error('not used');
    },
    keys: async () => jwks,
    issuerFor: async (t) => `${host}/${t}/v2.0`,
  };
});

/** The claims of Microsoft's documented sample id token, fresh in time. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ver: '2.0',
    iss: `${host}/${tid}/v2.0`,
    sub: 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ',
    aud: clientId,
    name: 'Abe Lincoln',
    preferred_username: 'AbeLi@microsoft.com',
    oid,
    tid,
    nonce: '123523',
    ...overrides,
  };
}

async function sign(payload: Record<string, unknown>, options: { with?: CryptoKey; ttl?: string } = {}) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' })
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(options.ttl ?? '1h')
    .sign(options.with ?? key);
}

const verify = (token: string, nonce = '123523') => verifyIdToken(token, { authority, clientId, nonce });

describe('verifyIdToken', () => {
  it('accepts a token signed by the authority for our app, from the tenant it names', async () => {
    await expect(verify(await sign(claims()))).resolves.toEqual({
      tenantId: tid,
      objectId: oid,
      username: 'AbeLi@microsoft.com',
      name: 'Abe Lincoln',
    });
  });

  const refusals: [string, () => Promise<string>, string?][] = [
    ['a foreign signature', () => sign(claims(), { with: otherKey })],
    ['another audience', () => sign(claims({ aud: '11111111-1111-1111-1111-111111111111' }))],
    [
      'an issuer of another tenant',
      () => sign(claims({ iss: `${host}/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0` })),
    ],
    ['the placeholder issuer', () => sign(claims({ iss: `${host}/{tenantid}/v2.0` }))],
    ['an expired token', () => sign(claims(), { ttl: '-10min' })],
    ['no oid', () => sign(claims({ oid: undefined }))],
    [
      'a tid that is not a GUID',
      () => sign(claims({ tid: 'organizations', iss: `${host}/organizations/v2.0` })),
    ],
  ];
  for (const [what, make] of refusals) {
    it(`refuses ${what}`, async () => {
      await expect(verify(await make())).rejects.toBeInstanceOf(IdTokenError);
    });
  }

  it('refuses a nonce from another login', async () => {
    await expect(verify(await sign(claims()), 'another-nonce')).rejects.toThrow(/nonce mismatch/);
  });

  it('refuses an unsigned token', async () => {
    const header = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
    const body = Buffer.from(
      JSON.stringify({ ...claims(), exp: Math.floor(Date.now() / 1000) + 600 }),
    ).toString('base64url');
    await expect(verify(`${header}.${body}.`)).rejects.toBeInstanceOf(IdTokenError);
  });
});
