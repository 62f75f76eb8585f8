import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { msRequestId, startJsonServer } from '../https-server';
import { jwksTokenVerifier, type TokenVerifier } from './auth';
import { Bundles, latest } from './bundles';
import {
  badBody,
  decodeSkipToken,
  deletedNotFound,
  encodeSkipToken,
  error,
  readJson,
  secretNotFound,
  type Reply,
} from './http';
import { SecretStore, type SecretEntry, type SecretProperties, type SecretVersion } from './store';

export { jwksTokenVerifier, type TokenVerifier } from './auth';

export interface KeyVaultSimulatorOptions {
  tls: { cert: string; key: string };
  port?: number;
  /** Decides whether a bearer token may use the vault (see jwksTokenVerifier). */
  verifyToken: TokenVerifier;
  /** Named in the 401 challenge; the SDK asks its credential for a token from `<authority>/<tenantId>`. */
  authority?: string;
  tenantId?: string;
  /** Keeps the secrets across restarts (JSON, written after each change). Without it, memory only. */
  dataFile?: string;
  /** Soft-delete retention, 7–90 days, as set on a vault. */
  recoverableDays?: number;
}

export interface KeyVaultSimulator {
  /** The vault URL to give SecretClient, e.g. https://127.0.0.1:PORT */
  url: string;
  stop(): Promise<void>;
  /** For tests: the current value and tags of a live secret, without going through the protocol. */
  peek(name: string): { value: string; tags?: Record<string, string>; contentType?: string } | undefined;
}

const NAME = /^[A-Za-z][A-Za-z0-9-]{0,126}$/;
const PAGE_SIZE = 25;

export async function startKeyVaultSimulator(options: KeyVaultSimulatorOptions): Promise<KeyVaultSimulator> {
  const recoverableDays = options.recoverableDays ?? 90;
  if (recoverableDays < 7 || recoverableDays > 90) throw new Error('recoverableDays must be 7–90');
  const store = new SecretStore(recoverableDays, options.dataFile);
  const challenge =
    `Bearer authorization="${(options.authority ?? 'https://login.microsoftonline.com').replace(/\/+$/, '')}/` +
    `${options.tenantId ?? 'organizations'}", resource="https://vault.azure.net"`;
  const server = await startJsonServer(
    { tls: options.tls, port: options.port, send: { headers: msRequestId } },
    handle,
    (e) => error(500, 'InternalServerError', e instanceof Error ? e.message : String(e)),
  );
  const vaultUrl = server.url;
  const bundles = new Bundles(vaultUrl, recoverableDays);

  async function handle(req: IncomingMessage): Promise<Reply> {
    const auth = req.headers.authorization ?? '';
    const unauthorized = (message: string): Reply => ({
      ...error(401, 'Unauthorized', message),
      headers: { 'WWW-Authenticate': challenge },
    });
    if (!/^Bearer\s+\S/i.test(auth)) return unauthorized('Request is missing a Bearer or PoP token.');
    if (!(await options.verifyToken(auth.replace(/^Bearer\s+/i, '').trim()))) {
      return unauthorized('The access token is not valid for this vault.');
    }
    const url = new URL(req.url ?? '/', vaultUrl);
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion) return error(400, 'BadParameter', 'The api-version query parameter is missing.');
    let segments: string[];
    try {
      segments = url.pathname.replace(/\/+$/, '').split('/').slice(1).map(decodeURIComponent);
    } catch {
      return error(400, 'BadParameter', 'The request URI is malformed.');
    }
    const [collection, name, sub] = segments;
    if (segments.length > 3 || (collection !== 'secrets' && collection !== 'deletedsecrets')) {
      return error(404, 'NotFound', `No route for ${req.method} ${url.pathname}.`);
    }
    if (name !== undefined && !NAME.test(name)) {
      return error(400, 'BadParameter', `The request URI contains an invalid name: ${name}`);
    }
    const method = req.method ?? 'GET';
    const list = (items: unknown[]) => page(items, url, apiVersion);

    if (collection === 'secrets') {
      if (name === undefined) {
        if (method === 'GET') return list(store.live().map((e) => bundles.item(e, latest(e), false)));
      } else if (sub === 'versions') {
        if (method === 'GET') {
          const entry = store.find(name);
          const versions = entry && !entry.deleted ? entry.versions : [];
          return list(versions.map((v) => bundles.item(entry as SecretEntry, v, true)));
        }
      } else if (method === 'PUT' && sub === undefined) {
        const body = await readJson(req);
        return body ? setSecret(name, body) : badBody();
      } else if (method === 'DELETE' && sub === undefined) {
        const entry = liveEntry(name);
        if (!entry) return secretNotFound(name);
        store.softDelete(entry);
        return { status: 200, body: bundles.deleted(entry, false) };
      } else if (method === 'GET' || method === 'PATCH') {
        const entry = liveEntry(name);
        const version = entry && (sub ? entry.versions.find((v) => v.version === sub) : latest(entry));
        if (!entry || !version) return secretNotFound(sub ? `${name}/${sub}` : name);
        if (method === 'PATCH') {
          const body = await readJson(req);
          if (!body) return badBody();
          store.update(version, properties(body));
          return { status: 200, body: bundles.secret(entry, version, false) };
        }
        if (!version.enabled) {
          return error(
            403,
            'Forbidden',
            'Operation get is not allowed on a disabled secret.',
            'SecretDisabled',
          );
        }
        return { status: 200, body: bundles.secret(entry, version, true) };
      }
    } else if (name === undefined) {
      if (method === 'GET') return list(store.deleted().map((e) => bundles.deleted(e, true)));
    } else {
      const entry = store.find(name);
      const deleted = entry?.deleted ? entry : undefined;
      if (sub === 'recover' && method === 'POST') {
        if (!deleted) return deletedNotFound(name);
        store.recover(deleted);
        return { status: 200, body: bundles.secret(deleted, latest(deleted), false) };
      }
      if (sub === undefined && method === 'GET') {
        return deleted ? { status: 200, body: bundles.deleted(deleted, false) } : deletedNotFound(name);
      }
      if (sub === undefined && method === 'DELETE') {
        if (!deleted) return deletedNotFound(name);
        store.purge(deleted);
        return { status: 204 };
      }
    }
    return error(405, 'MethodNotAllowed', `${method} is not supported on ${url.pathname}.`);
  }

  function liveEntry(name: string): SecretEntry | undefined {
    const entry = store.find(name);
    return entry && !entry.deleted ? entry : undefined;
  }

  function setSecret(name: string, body: Record<string, unknown>): Reply {
    if (typeof body.value !== 'string') return error(400, 'BadParameter', 'Property value is required.');
    if (store.find(name)?.deleted) {
      return error(
        409,
        'Conflict',
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; ` +
          'in this state, the secret can only be recovered or purged.',
        'ObjectIsDeletedButRecoverable',
      );
    }
    const { entry, version } = store.set(name, body.value, { enabled: true, ...properties(body) });
    return { status: 200, body: bundles.secret(entry, version, true) };
  }

  function page(items: unknown[], url: URL, apiVersion: string): Reply {
    const max = url.searchParams.get('maxresults');
    const size = max === null ? PAGE_SIZE : Number(max);
    if (!Number.isInteger(size) || size < 1 || size > PAGE_SIZE) {
      return error(400, 'BadParameter', `maxresults must be between 1 and ${PAGE_SIZE}.`);
    }
    const offset = decodeSkipToken(url.searchParams.get('$skiptoken'));
    const value = items.slice(offset, offset + size);
    const next = offset + size < items.length;
    const nextLink = next
      ? `${vaultUrl}${url.pathname}?api-version=${encodeURIComponent(apiVersion)}&$skiptoken=${encodeSkipToken(offset + size)}` +
        (max === null ? '' : `&maxresults=${size}`)
      : null;
    return { status: 200, body: { value, nextLink } };
  }

  return {
    url: vaultUrl,
    stop: () => server.close(),
    peek(name) {
      const entry = liveEntry(name);
      if (!entry) return undefined;
      const { value, tags, contentType } = latest(entry);
      return { value, ...(tags ? { tags } : {}), ...(contentType !== undefined ? { contentType } : {}) };
    },
  };
}

/** The settable properties of a set or update body; absent ones stay undefined. */
function properties(body: Record<string, unknown>): Partial<SecretProperties> {
  const attributes = (
    typeof body.attributes === 'object' && body.attributes !== null ? body.attributes : {}
  ) as Record<string, unknown>;
  const props: Partial<SecretVersion> = {};
  if (typeof body.contentType === 'string') props.contentType = body.contentType;
  if (typeof body.tags === 'object' && body.tags !== null) props.tags = body.tags as Record<string, string>;
  if (typeof attributes.enabled === 'boolean') props.enabled = attributes.enabled;
  if (typeof attributes.exp === 'number') props.exp = attributes.exp;
  if (typeof attributes.nbf === 'number') props.nbf = attributes.nbf;
  return props;
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'data-file': { type: 'string' },
      'jwks-url': { type: 'string' },
      'tenant-id': { type: 'string' },
      authority: { type: 'string' },
    },
  });
  const jwksUrl = values['jwks-url'] ?? process.env.KEYVAULT_JWKS_URL;
  if (!jwksUrl) {
    console.error(
      'Give --jwks-url (or KEYVAULT_JWKS_URL): the identity server whose tokens the vault accepts.',
    );
    process.exit(2);
  }
  const tenantId = values['tenant-id'] ?? process.env.KEYVAULT_TENANT_ID;
  import('../tls/certs')
    .then(({ ensureDevCertificates }) => ensureDevCertificates())
    .then(({ cert, key }) =>
      startKeyVaultSimulator({
        tls: { cert, key },
        port: Number(values.port ?? process.env.KEYVAULT_PORT ?? 0),
        verifyToken: jwksTokenVerifier({ jwksUrl, ...(tenantId ? { tenantId } : {}) }),
        authority: values.authority ?? process.env.KEYVAULT_AUTHORITY,
        tenantId,
        dataFile: path.resolve(
          values['data-file'] ?? process.env.KEYVAULT_DATA_FILE ?? '.local/keyvault/secrets.json',
        ),
      }),
    )
    .then(
      (vault) => console.log(vault.url),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
}
