import { z } from 'zod';

/**
 * Every setting of the app, validated once at start. The same names are app settings in Azure and
 * `Values` in local.settings.json; endpoints are settings so one code path serves Azure and the
 * local stack. Secrets are not settings: they live in Key Vault and settings only name them.
 */
const httpsUrl = z
  .string()
  .url()
  .refine((u) => u.startsWith('https://'), 'must be an https:// URL')
  .transform((u) => u.replace(/\/+$/, ''));
/** The public address may be plain http only on the loopback, as Microsoft allows for redirect URIs. */
const publicUrl = z
  .string()
  .url()
  .refine(
    (u) => u.startsWith('https://') || /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?(\/|$)/.test(u),
    'must be an https:// URL (http:// only for localhost)',
  )
  .transform((u) => u.replace(/\/+$/, ''));
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const positiveInt = z.coerce.number().int().positive();

const schema = z.object({
  /** SBC dial plans: the domain customers' trunk FQDNs derive from, retries, the quiet window before a push. */
  SBC_CUSTOMER_DOMAIN: z.string().min(3).default('customers.provider.example'),
  SBC_TAG_MAX_LENGTH: positiveInt.default(64),
  SBC_REQUEST_TIMEOUT_MS: positiveInt.default(15_000),
  SBC_MAX_ATTEMPTS: positiveInt.default(20),
  SBC_RETRY_BASE_SECONDS: positiveInt.default(30),
  SBC_RETRY_CAP_SECONDS: positiveInt.default(900),
  SBC_QUIET_SECONDS: z.coerce.number().int().min(0).default(5),
  /** Storage: a connection string (local, or a Key Vault reference) … */
  AzureWebJobsStorage: z.string().min(1).optional(),
  /** … or identity-based endpoints, as the Functions host reads them. */
  AzureWebJobsStorage__tableServiceUri: httpsUrl.optional(),
  AzureWebJobsStorage__queueServiceUri: httpsUrl.optional(),
  /** Prefix for table and queue names, so several deployments (or test runs) share an account. */
  STORAGE_NAME_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,15}$/, 'lower-case letters and digits, starting with a letter, at most 16')
    .default(''),

  /** Client id of a user-assigned managed identity; empty for the system-assigned one. */
  MANAGED_IDENTITY_CLIENT_ID: z.string().uuid().optional(),

  KEY_VAULT_URL: httpsUrl,
  /** The Key Vault client checks that the auth challenge names a vault resource; off only for the local vault. */
  KEY_VAULT_VERIFY_CHALLENGE_RESOURCE: bool.default(true),

  EMAIL_ENDPOINT: httpsUrl,
  /** Name of the Key Vault secret holding the Communication Services access key; without it, managed identity. */
  EMAIL_ACCESS_KEY_SECRET_NAME: z.string().min(1).optional(),
  EMAIL_SENDER_ADDRESS: z.string().email(),

  /** Microsoft identity platform and Graph (the local stack points these at the simulator). */
  AUTHORITY_HOST: httpsUrl.default('https://login.microsoftonline.com'),
  GRAPH_BASE_URL: httpsUrl.default('https://graph.microsoft.com'),
  /** The provider's multi-tenant app registration. */
  APP_CLIENT_ID: z.string().uuid(),
  /** How the app proves itself to Microsoft: a Key Vault secret, a Key Vault certificate, or the managed identity. */
  APP_CREDENTIAL: z.enum(['secret', 'certificate', 'managed-identity']).default('secret'),
  APP_CLIENT_SECRET_NAME: z.string().min(1).default('app-client-secret'),
  APP_CERTIFICATE_SECRET_NAME: z.string().min(1).default('app-client-certificate'),

  /** Public address of this app: invitation links and the OAuth redirect URI are built from it. */
  PUBLIC_BASE_URL: publicUrl,
  PROVIDER_NAME: z.string().min(1).default('Switchboard'),
  PROVIDER_NOTIFY_ADDRESS: z.string().email().optional(),

  /** How long a health probe waits for each component. */
  HEALTH_TIMEOUT_MS: positiveInt.default(3000),

  /**
   * Orders webhook: Key Vault secret names holding the HMAC signing secrets, current first. Every
   * secret that exists is accepted, so a new one can be added before the ordering system switches.
   */
  ORDERS_WEBHOOK_SECRET_NAMES: z
    .string()
    .default('orders-webhook-secret,orders-webhook-secret-previous')
    .transform((s) =>
      s
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== ''),
    )
    .pipe(
      z
        .array(z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,126}$/, 'each must be a Key Vault secret name'))
        .min(1, 'name at least one secret')
        .max(5, 'at most 5 secrets'),
    ),
  /** How far a signature's timestamp may be from now, either way. */
  ORDERS_SIGNATURE_TOLERANCE_SECONDS: positiveInt.max(3600).default(300),
  /** How long the signing secrets are kept in memory before Key Vault is read again. */
  ORDERS_SECRET_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  /** Where status callbacks go (customer invited, order failed, …); without it none are sent. */
  ORDERS_CALLBACK_URL: httpsUrl.optional(),
  ORDERS_CALLBACK_MAX_ATTEMPTS: positiveInt.max(50).default(15),
  /** First retry delay of orders and callbacks; each further retry doubles it (at most one hour). */
  ORDERS_RETRY_BASE_SECONDS: positiveInt.max(3600).default(10),
  /** How long an order waiting for its customer (or for a dependency to come back) is retried before it fails. */
  ORDERS_MAX_WAIT_HOURS: positiveInt.max(24 * 6).default(24),
  /** How long one worker holds a customer's orders before another may take over (a crashed worker's lease). */
  ORDERS_LEASE_SECONDS: positiveInt.min(10).max(3600).default(300),
  /**
   * When every consented customer's access is verified (NCRONTAB, six fields, UTC). The timer names
   * this setting (`%TOKENS_VERIFY_SCHEDULE%`), so in Azure it must be set: the deployment sets it.
   */
  TOKENS_VERIFY_SCHEDULE: z
    .string()
    .trim()
    .regex(/^(\S+\s+){5}\S+$/, 'six NCRONTAB fields: {second} {minute} {hour} {day} {month} {day-of-week}')
    .default('0 0 */6 * * *'),
  /** Consecutive transient verification failures of one customer before the provider is alerted. */
  TOKENS_ALERT_AFTER_FAILURES: positiveInt.max(100).default(3),
  /** A token not redeemed successfully for this many days is escalated before its 90 days run out. */
  TOKENS_ESCALATE_AFTER_DAYS: positiveInt.max(89).default(75),
  /** While background work is paused, how long a worker's message waits before it looks at the switch again. */
  JOBS_PAUSED_RETRY_SECONDS: positiveInt.max(300).default(30),
  /** How long finished order events are kept (then deleted by the sweep). */
  ORDERS_RETENTION_DAYS: positiveInt.max(3650).default(90),
  /** How long delivered or failed status callbacks are kept. */
  CALLBACKS_RETENTION_DAYS: positiveInt.max(3650).default(30),

  /** Replication: the timer asks every active, consented tenant for a delta sync this often (minutes). */
  REPLICATION_SYNC_MINUTES: positiveInt.max(1440).default(5),
  /** A sync run stops between pages after this long and continues in a new message (below the function timeout). */
  REPLICATION_RUN_BUDGET_SECONDS: positiveInt.max(3600).default(480),
  /** Teams voice configurations have no delta: a tenant's are read again after this many minutes. */
  REPLICATION_VOICE_MINUTES: positiveInt.max(7 * 1440).default(60),
  /** Directory role memberships (admin role revoked) are checked after this many minutes. */
  REPLICATION_ROLES_MINUTES: positiveInt.max(1440).default(15),
  /** Changes queued for a tenant are pushed after this many quiet minutes (0: on the next sweep), as UMP-365. */
  REPLICATION_PUSH_QUIET_MINUTES: z.coerce.number().int().min(0).max(1440).default(5),
  /**
   * The most instances the app scales out to (the plan's maximum instance count): each instance keeps
   * to this share of Graph's app-wide budget (150,000 resource units per 20 s across all tenants).
   */
  REPLICATION_MAX_INSTANCES: positiveInt.max(1000).default(100),

  /** Directory roles (template ids, comma-separated) whose holders may connect their organization. */
  CONSENT_ADMIN_ROLE_IDS: z
    .string()
    // Global Administrator, Teams Communications Administrator.
    .default('62e90394-69f5-4237-9190-012177145e10,baf37b3a-610e-45da-9e62-d9d1e5e8914b')
    .transform((s) =>
      s
        .split(',')
        .map((r) => r.trim().toLowerCase())
        .filter((r) => r !== ''),
    )
    .pipe(z.array(z.guid('each must be a role template id (GUID)')).min(1, 'name at least one role')),
  /** Microsoft's first sign-in screen: pick an account (default), or always show the permissions. */
  CONSENT_PROMPT: z.enum(['select_account', 'consent']).default('select_account'),
});

export type Settings = z.infer<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: { setting: string; message: string }[]) {
    super(`Invalid configuration: ${problems.map((p) => `${p.setting}: ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  storage:
    | { kind: 'connectionString'; connectionString: string; namePrefix: string }
    | { kind: 'identity'; tableUrl: string; queueUrl: string; namePrefix: string };
  managedIdentityClientId: string | undefined;
  keyVault: { url: string; verifyChallengeResource: boolean };
  email: { endpoint: string; accessKeySecretName: string | undefined; senderAddress: string };
  identity: {
    authorityHost: string;
    clientId: string;
    credential: 'secret' | 'certificate' | 'managed-identity';
    clientSecretName: string;
    certificateSecretName: string;
  };
  graph: { baseUrl: string };
  portal: { publicBaseUrl: string; redirectUri: string };
  provider: { name: string; notifyAddress: string | undefined };
  health: { timeoutMs: number };
  orders: {
    webhookSecretNames: string[];
    signatureToleranceSeconds: number;
    secretCacheSeconds: number;
    callbackUrl: string | undefined;
    callbackMaxAttempts: number;
    retryBaseSeconds: number;
    maxWaitHours: number;
    leaseSeconds: number;
    retentionDays: number;
    callbackRetentionDays: number;
  };
  consent: { adminRoleIds: string[]; prompt: 'select_account' | 'consent' };
  jobs: { pausedRetrySeconds: number };
  tokens: { verifySchedule: string; alertAfterFailures: number; escalateAfterDays: number };
  replication: {
    syncMinutes: number;
    runBudgetMs: number;
    voiceMinutes: number;
    rolesMinutes: number;
    pushQuietMinutes: number;
    maxInstances: number;
  };
  sbc: {
    customerDomain: string;
    tagMaxLength: number;
    requestTimeoutMs: number;
    maxAttempts: number;
    retryBaseSeconds: number;
    retryCapSeconds: number;
    quietSeconds: number;
  };
}

/** Reads and checks every setting; throws a ConfigError that names each missing or malformed one. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty app setting means "not set", as it does in the portal.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({
        setting: String(i.path[0] ?? '(settings)'),
        message: i.code === 'invalid_type' && i.input === undefined ? 'is required' : i.message,
      }));
  if (
    !present.AzureWebJobsStorage &&
    !(present.AzureWebJobsStorage__tableServiceUri && present.AzureWebJobsStorage__queueServiceUri)
  ) {
    problems.unshift({
      setting: 'AzureWebJobsStorage',
      message:
        'is required: a connection string, or both AzureWebJobsStorage__tableServiceUri and AzureWebJobsStorage__queueServiceUri',
    });
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const s = parsed.data;
  return {
    storage: s.AzureWebJobsStorage
      ? {
          kind: 'connectionString',
          connectionString: s.AzureWebJobsStorage,
          namePrefix: s.STORAGE_NAME_PREFIX,
        }
      : {
          kind: 'identity',
          tableUrl: s.AzureWebJobsStorage__tableServiceUri!,
          queueUrl: s.AzureWebJobsStorage__queueServiceUri!,
          namePrefix: s.STORAGE_NAME_PREFIX,
        },
    managedIdentityClientId: s.MANAGED_IDENTITY_CLIENT_ID,
    keyVault: { url: s.KEY_VAULT_URL, verifyChallengeResource: s.KEY_VAULT_VERIFY_CHALLENGE_RESOURCE },
    email: {
      endpoint: s.EMAIL_ENDPOINT,
      accessKeySecretName: s.EMAIL_ACCESS_KEY_SECRET_NAME,
      senderAddress: s.EMAIL_SENDER_ADDRESS,
    },
    identity: {
      authorityHost: s.AUTHORITY_HOST,
      clientId: s.APP_CLIENT_ID,
      credential: s.APP_CREDENTIAL,
      clientSecretName: s.APP_CLIENT_SECRET_NAME,
      certificateSecretName: s.APP_CERTIFICATE_SECRET_NAME,
    },
    graph: { baseUrl: s.GRAPH_BASE_URL },
    portal: {
      publicBaseUrl: s.PUBLIC_BASE_URL,
      redirectUri: `${s.PUBLIC_BASE_URL}/authenticate/OAuth2Callback`,
    },
    provider: { name: s.PROVIDER_NAME, notifyAddress: s.PROVIDER_NOTIFY_ADDRESS },
    health: { timeoutMs: s.HEALTH_TIMEOUT_MS },
    orders: {
      webhookSecretNames: s.ORDERS_WEBHOOK_SECRET_NAMES,
      signatureToleranceSeconds: s.ORDERS_SIGNATURE_TOLERANCE_SECONDS,
      secretCacheSeconds: s.ORDERS_SECRET_CACHE_SECONDS,
      callbackUrl: s.ORDERS_CALLBACK_URL,
      callbackMaxAttempts: s.ORDERS_CALLBACK_MAX_ATTEMPTS,
      retryBaseSeconds: s.ORDERS_RETRY_BASE_SECONDS,
      maxWaitHours: s.ORDERS_MAX_WAIT_HOURS,
      leaseSeconds: s.ORDERS_LEASE_SECONDS,
      retentionDays: s.ORDERS_RETENTION_DAYS,
      callbackRetentionDays: s.CALLBACKS_RETENTION_DAYS,
    },
    consent: { adminRoleIds: s.CONSENT_ADMIN_ROLE_IDS, prompt: s.CONSENT_PROMPT },
    jobs: { pausedRetrySeconds: s.JOBS_PAUSED_RETRY_SECONDS },
    tokens: {
      verifySchedule: s.TOKENS_VERIFY_SCHEDULE,
      alertAfterFailures: s.TOKENS_ALERT_AFTER_FAILURES,
      escalateAfterDays: s.TOKENS_ESCALATE_AFTER_DAYS,
    },
    replication: {
      syncMinutes: s.REPLICATION_SYNC_MINUTES,
      runBudgetMs: s.REPLICATION_RUN_BUDGET_SECONDS * 1000,
      voiceMinutes: s.REPLICATION_VOICE_MINUTES,
      rolesMinutes: s.REPLICATION_ROLES_MINUTES,
      pushQuietMinutes: s.REPLICATION_PUSH_QUIET_MINUTES,
      maxInstances: s.REPLICATION_MAX_INSTANCES,
    },
    sbc: {
      customerDomain: s.SBC_CUSTOMER_DOMAIN,
      tagMaxLength: s.SBC_TAG_MAX_LENGTH,
      requestTimeoutMs: s.SBC_REQUEST_TIMEOUT_MS,
      maxAttempts: s.SBC_MAX_ATTEMPTS,
      retryBaseSeconds: s.SBC_RETRY_BASE_SECONDS,
      retryCapSeconds: s.SBC_RETRY_CAP_SECONDS,
      quietSeconds: s.SBC_QUIET_SECONDS,
    },
  };
}
