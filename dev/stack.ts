import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../shared/config';
import { createAzureCredential } from '../shared/azure-credential';
import { createSecretStore } from '../shared/secrets/vault';
import { startAzurite, type Azurite } from './azurite';
import { startEmailSimulator, type EmailSimulator } from './email/server';
import { jwksTokenVerifier, startKeyVaultSimulator, type KeyVaultSimulator } from './keyvault/server';
import { createDefaultSeed, defaultClientId, defaultClientSecret, providerTenantId } from './m365/seed';
import { startM365Simulator, type M365Simulator } from './m365/server';
import { startSbcSimulator, type SbcSimulator } from './sbc/server';
import { ensureDevCertificates, type DevCertificates } from './tls/certs';

/**
 * The whole local stack: Azurite and every simulator, and the app settings that point the app at
 * them. `npm start` runs it on the fixed ports below with data kept under .local/; the tests run it
 * on free ports in memory.
 */
export const fixedPorts = {
  tables: 10002,
  queues: 10001,
  m365: 7110,
  keyVault: 7120,
  email: 7130,
  sbc: 7140,
};
export const LOCAL_HOST_PORT = 7071;

export interface LocalStackOptions {
  ports: 'fixed' | 'free';
  /** Keeps Azurite's, the vault's and Microsoft 365's data here; absent = in memory. */
  dataDir?: string | undefined;
  /** Where the e-mail simulator writes .eml files. Default: <dataDir or a temp dir>/outbox. */
  outboxDir?: string;
  /** The app's public address (its OAuth redirect URI is registered with the simulated Microsoft). */
  publicBaseUrl?: string;
  quiet?: boolean;
  /**
   * A PEM certificate (or public key) registered on the simulated app registration as a credential, as
   * uploading it under "Certificates & secrets" would: client assertions signed with its key are accepted.
   */
  appCertificatePem?: string;
}

export interface LocalStack {
  /** App settings (local.settings.json `Values`) for this stack. */
  settings: Record<string, string>;
  outboxDir: string;
  urls: Record<'tables' | 'queues' | 'm365' | 'keyVault' | 'email' | 'sbc', string>;
  certs: DevCertificates;
  azurite: Azurite;
  m365: M365Simulator;
  keyVault: KeyVaultSimulator;
  email: EmailSimulator;
  sbc: SbcSimulator;
  /** The secret the ordering system signs webhook requests with (Key Vault `orders-webhook-secret`). */
  ordersWebhookSecret: string;
  /** The SBC's REST credentials (for the product they will live in Key Vault). */
  sbcCredentials: { username: string; password: string };
  stop(): Promise<void>;
}

export const LOCAL_SECRET_NAMES = {
  appClientSecret: 'app-client-secret',
  emailAccessKey: 'acs-access-key',
  ordersWebhookSecret: 'orders-webhook-secret',
};

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const certs = await ensureDevCertificates();
  const tls = { cert: certs.cert, key: certs.key };
  const port = (name: keyof typeof fixedPorts) => (options.ports === 'fixed' ? fixedPorts[name] : 0);
  const dataFile = (name: string) => (options.dataDir ? path.join(options.dataDir, name) : undefined);
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const outboxDir =
    options.outboxDir ??
    path.join(
      options.dataDir ?? path.join(tmpdir(), `switchboard-${randomBytes(4).toString('hex')}`),
      'outbox',
    );
  const publicBaseUrl = options.publicBaseUrl ?? `http://localhost:${LOCAL_HOST_PORT}`;
  const identityHeader = randomBytes(16).toString('hex');
  const emailAccessKey = randomBytes(32).toString('base64');
  const sbcCredentials = { username: 'Admin', password: randomBytes(12).toString('base64url') };

  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const azurite = await startAzurite({
      tablePort: port('tables'),
      queuePort: port('queues'),
      ...(options.dataDir ? { location: path.join(options.dataDir, 'azurite') } : {}),
      tls: { certFile: certs.certFile, keyFile: certs.keyFile },
    });
    stops.push(() => azurite.stop());
    const seed = createDefaultSeed([`${publicBaseUrl}/authenticate/OAuth2Callback`]);
    if (options.appCertificatePem && seed.apps[0]) {
      seed.apps[0].certificates = [...(seed.apps[0].certificates ?? []), options.appCertificatePem];
    }
    const m365 = await startM365Simulator({
      port: port('m365'),
      tls,
      seed,
      identityHeader,
      allowLoopbackRedirects: true,
      ...(dataFile('m365.json') ? { dataFile: dataFile('m365.json') } : {}),
    });
    stops.push(() => m365.stop());
    const keyVault = await startKeyVaultSimulator({
      port: port('keyVault'),
      tls,
      authority: m365.url,
      tenantId: providerTenantId,
      verifyToken: jwksTokenVerifier({ jwksUrl: `${m365.url}/${providerTenantId}/discovery/v2.0/keys` }),
      ...(dataFile('keyvault.json') ? { dataFile: dataFile('keyvault.json') } : {}),
    });
    stops.push(() => keyVault.stop());
    const email = await startEmailSimulator({
      port: port('email'),
      tls,
      accessKey: emailAccessKey,
      outboxDir,
    });
    stops.push(() => email.stop());
    const sbc = await startSbcSimulator({ port: port('sbc'), tls, ...sbcCredentials });
    // The provider's one dial plan for Teams customers, set up once on a real device.
    sbc.addDialPlan('Customers');
    stops.push(() => sbc.stop());

    const settings: Record<string, string> = {
      AzureWebJobsStorage: azurite.connectionString,
      IDENTITY_ENDPOINT: `${m365.url}/msi/token`,
      IDENTITY_HEADER: identityHeader,
      KEY_VAULT_URL: keyVault.url,
      KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: 'false',
      EMAIL_ENDPOINT: email.url,
      EMAIL_ACCESS_KEY_SECRET_NAME: LOCAL_SECRET_NAMES.emailAccessKey,
      EMAIL_SENDER_ADDRESS: 'DoNotReply@mail.switchboard.example',
      AUTHORITY_HOST: m365.url,
      GRAPH_BASE_URL: m365.url,
      APP_CLIENT_ID: defaultClientId,
      APP_CREDENTIAL: 'secret',
      APP_CLIENT_SECRET_NAME: LOCAL_SECRET_NAMES.appClientSecret,
      PUBLIC_BASE_URL: publicBaseUrl,
      PROVIDER_NAME: 'Switchboard Demo Provider',
      PROVIDER_NOTIFY_ADDRESS: 'operations@provider.example',
      // The verification timer names this setting in its schedule; Azure needs it set, so do we.
      TOKENS_VERIFY_SCHEDULE: '0 0 */6 * * *',
    };

    // The secrets the app reads from Key Vault, put there the way an operator would: through the vault's API.
    // The webhook secret is kept across restarts so an ordering system set up against it keeps working.
    const ordersWebhookSecret = await withEnv(
      { IDENTITY_ENDPOINT: settings.IDENTITY_ENDPOINT!, IDENTITY_HEADER: identityHeader },
      async () => {
        const config = loadConfig(settings);
        const vault = createSecretStore(config.keyVault, createAzureCredential(undefined));
        await vault.set(LOCAL_SECRET_NAMES.appClientSecret, defaultClientSecret);
        await vault.set(LOCAL_SECRET_NAMES.emailAccessKey, emailAccessKey);
        const existing = await vault.get(LOCAL_SECRET_NAMES.ordersWebhookSecret);
        if (existing) return existing;
        const fresh = randomBytes(32).toString('base64url');
        await vault.set(LOCAL_SECRET_NAMES.ordersWebhookSecret, fresh);
        return fresh;
      },
    );

    return {
      settings,
      outboxDir,
      urls: {
        tables: azurite.tableUrl,
        queues: azurite.queueUrl,
        m365: m365.url,
        keyVault: keyVault.url,
        email: email.url,
        sbc: sbc.url,
      },
      certs,
      azurite,
      m365,
      keyVault,
      email,
      sbc,
      sbcCredentials,
      ordersWebhookSecret,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Runs `fn` with some environment variables set (the managed identity credential reads them). */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
