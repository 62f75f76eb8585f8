import type { TokenCredential } from '@azure/identity';
import { createAzureCredential } from './azure-credential';
import { loadConfig, type Config } from './config';
import { createMailer, type Mailer } from './email/mailer';
import { createAppCredentialSource } from './identity/app-credential';
import { createAuthority } from './identity/authority';
import { createLoginStateStore } from './identity/login-state';
import { createSignInClient } from './identity/sign-in';
import { createTokenClient } from './identity/token-client';
import { createConsentService, type ConsentService } from './onboarding/consent';
import { createCustomerService, type CustomerService } from './onboarding/customers';
import { createInvitationSettings, type InvitationSettingsService } from './onboarding/invitation-settings';
import { createInvitationService, type InvitationService } from './onboarding/invitations';
import { createOnboardingRepositories, type OnboardingRepositories } from './onboarding/repositories';
import { createHealthService, probeHttp, type HealthService } from './ops/health';
import { createJobs, type Jobs } from './jobs';
import { createOrdersService, createWebhookSecrets, type OrdersService } from './orders/service';
import { SIGNATURE_HEADER, signatureHeader } from './orders/signature';
import { SPEC_VERSION } from './orders/envelope';
import { createDialPlan, type DialPlan } from './dialplan';
import { createOutbox, createOutboxRepositories, type Outbox } from './outbox';
import { systemClock, type Clock } from './clock';
import { createSecretStore, type SecretStore } from './secrets/vault';
import { createAuditLog, type AuditLog } from './storage/audit';
import { createTokenHealth, type TokenService } from './tokens';
import { createTokenChecks, type TokenChecks } from './tokens/checks';
import { createStorageClients, type StorageClients, type TableRequestObserver } from './storage/clients';
import { createQueueSender, type QueueSender } from './storage/queue-sender';
import { createReplication, type Replication } from './replication';

/**
 * Wires the services from the configuration: first the platform (config, clock, credential,
 * storage, queues, secrets, mailer, audit, jobs, outbox), then each capability's module on top of
 * it. Functions get them through `services()`, built once per process on first use; tests build
 * their own with `createServices(config)` (and may move the clock with `{ now }`).
 */
export interface Services {
  config: Config;
  now: Clock;
  credential: TokenCredential;
  storage: StorageClients;
  queues: QueueSender;
  audit: AuditLog;
  secrets: SecretStore;
  mailer: Mailer;
  /** Background work: leases, the due index and its sweep, mailboxes, the pause switch. */
  jobs: Jobs;
  /** Status callbacks to the ordering system, for every capability. */
  outbox: Outbox;
  health: HealthService;
  onboarding: OnboardingRepositories;
  customers: CustomerService;
  invitationSettings: InvitationSettingsService;
  invitations: InvitationService;
  /** The customer admin's sign-in and consent (the /authenticate pages). */
  consent: ConsentService;
  /** The ordering system's webhook, its queue worker, its events and pending cleanups. */
  orders: OrdersService;
  /** Token health: `redeem(customer)` for any work in a customer's tenant, `verify(customerId)` for one check. */
  tokens: TokenService;
  /** Token health's background work: the timer's fan-out, one check with its consequences, verify-all, revoke. */
  tokenChecks: TokenChecks;
  /** Every tenant's users, groups, memberships and licences by Graph delta; reads for the admin API. */
  replication: Replication;
  /** SBC dial plans: SBCs, sites, prefixes, templates, and the changes the SBC worker pushes. */
  dialplan: DialPlan;
}

export function createServices(
  config: Config,
  overrides: {
    credential?: TokenCredential;
    now?: Clock;
    queues?: QueueSender;
    observeTables?: TableRequestObserver;
    /** What Graph writes go through (a test cuts storage off right after Microsoft acted). */
    graphFetch?: typeof fetch;
  } = {},
): Services {
  const now = overrides.now ?? systemClock;
  const credential = overrides.credential ?? createAzureCredential(config.managedIdentityClientId);
  const storage = createStorageClients(config.storage, credential, {
    ...(overrides.observeTables ? { observeTables: overrides.observeTables } : {}),
  });
  const secrets = createSecretStore(config.keyVault, credential);
  const mailer = createMailer(config.email, { credential, secrets });
  const timeoutMs = config.health.timeoutMs;
  const health = createHealthService({
    timeoutMs,
    probes: {
      'storage.tables': async () => {
        await storage.tableService().listTables().byPage({ maxPageSize: 1 }).next();
      },
      'storage.queues': async () => {
        await storage.queueService().getProperties();
      },
      keyVault: () => secrets.probe(),
      email: () => mailer.probe(),
      identity: () =>
        probeHttp(
          `${config.identity.authorityHost}/organizations/v2.0/.well-known/openid-configuration`,
          timeoutMs,
          true,
        ),
      graph: () => probeHttp(`${config.graph.baseUrl}/v1.0/organization`, timeoutMs),
    },
  });
  const audit = createAuditLog(storage);
  const queues = overrides.queues ?? createQueueSender(storage);
  const jobs = createJobs({
    storage,
    queues,
    audit,
    now,
    pausedRetrySeconds: config.jobs.pausedRetrySeconds,
  });
  const webhookSecrets = createWebhookSecrets({
    secrets,
    names: config.orders.webhookSecretNames,
    cacheSeconds: config.orders.secretCacheSeconds,
    now: () => now().getTime(),
  });
  const outbox = createOutbox({
    repos: createOutboxRepositories(storage, jobs.due),
    queues,
    audit,
    url: config.orders.callbackUrl,
    maxAttempts: config.orders.callbackMaxAttempts,
    retryBaseSeconds: config.orders.retryBaseSeconds,
    retentionDays: config.orders.callbackRetentionDays,
    specVersion: SPEC_VERSION,
    sign: async (body) => {
      const secrets = await webhookSecrets.current();
      if (secrets.length === 0) throw new Error('no signing secret in Key Vault');
      return {
        header: SIGNATURE_HEADER,
        value: signatureHeader(secrets, body, Math.floor(now().getTime() / 1000)),
      };
    },
    now,
  });
  const onboarding = createOnboardingRepositories(storage);
  const customers = createCustomerService({ repos: onboarding, audit, secrets, now });
  const invitationSettings = createInvitationSettings({ storage, config, audit });
  const invitations = createInvitationService({
    repos: onboarding,
    customers,
    settings: invitationSettings,
    mailer,
    audit,
  });
  const authority = createAuthority(config.identity.authorityHost);
  const appCredential = createAppCredentialSource({ identity: config.identity, secrets, credential });
  // One way to redeem anything at Microsoft, shared by sign-in and token health.
  const tokenClient = createTokenClient({
    authorityHost: config.identity.authorityHost,
    clientId: config.identity.clientId,
    credential: appCredential,
  });
  const tokens = createTokenHealth({ config, storage, customers, secrets, tokens: tokenClient, now }).service;
  const tokenChecks = createTokenChecks({
    config,
    tokens,
    customers,
    invitations,
    outbox,
    mailer,
    audit,
    queues,
    runs: jobs.runs,
    now,
  });
  // Orders drive dial-plan sites, and dial plans take orders' cleanups: the site port is bound late.
  const late: { dialplan?: DialPlan } = {};
  const dp = (): DialPlan => {
    if (!late.dialplan) throw new Error('dial plans are not wired yet');
    return late.dialplan;
  };
  const orders = createOrdersService({
    config: config.orders,
    storage,
    queues,
    audit,
    jobs,
    outbox,
    webhookSecrets,
    customers,
    access: tokenChecks,
    invitations,
    onboarding,
    sites: {
      create: async (sbcId, input, actor) => {
        const r = await dp().sites.create(sbcId, input, actor, 'order');
        return { siteId: r.site.id, changeId: r.change.id };
      },
      changePrefixes: async (sbcId, siteId, input, actor) => ({
        changeIds: (await dp().sites.changePrefixes(sbcId, siteId, input, actor, 'order')).changes.map(
          (c) => c.id,
        ),
      }),
      remove: async (sbcId, siteId, actor) => ({
        changeId: (await dp().sites.remove(sbcId, siteId, actor, 'order')).change?.id ?? null,
      }),
      ownerOf: (sbcId, siteId) => dp().sites.ownerOf(sbcId, siteId),
    },
    now,
  });
  const consent = createConsentService({
    config,
    repos: onboarding,
    invitations,
    settings: invitationSettings,
    logins: createLoginStateStore(storage, jobs.due, now),
    authority,
    signIn: createSignInClient({
      identity: config.identity,
      redirectUri: config.portal.redirectUri,
      authority,
      credential: appCredential,
      tokens: tokenClient,
    }),
    secrets,
    audit,
    mailer,
    notifyOrderingSystem: (type, data, options) => outbox.notify(type, data, options),
    missingScopes: async (customerId) => (await tokens.get(customerId))?.missingScopes ?? [],
  });
  const replication = createReplication({
    config: {
      graphBaseUrl: config.graph.baseUrl,
      publicBaseUrl: config.portal.publicBaseUrl,
      ...config.replication,
    },
    storage,
    jobs,
    customers,
    tokens,
    audit,
    outbox,
    subscriptions: orders.subscriptions,
    secrets,
    now,
    ...(overrides.graphFetch ? { graphFetch: overrides.graphFetch } : {}),
  });
  const dialplan = createDialPlan({
    config: config.sbc,
    storage,
    jobs,
    secrets,
    audit,
    customers,
    cleanups: orders.cleanups,
    now,
  });
  late.dialplan = dialplan;
  return {
    dialplan,
    config,
    now,
    credential,
    storage,
    queues,
    audit,
    secrets,
    mailer,
    jobs,
    outbox,
    health,
    onboarding,
    customers,
    invitationSettings,
    invitations,
    consent,
    orders,
    tokens,
    tokenChecks,
    replication,
  };
}

let current: Services | undefined;

/** The process-wide services, from the app settings (validated on first use). */
export function services(): Services {
  current ??= createServices(loadConfig(process.env));
  return current;
}
