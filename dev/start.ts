import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { triggers } from '../functions';
import { loadConfig } from '../shared/config';
import { withQueuePrefix } from '../shared/triggers';
import { startHost, type HostJson } from './host';
import { seedIds } from './m365/seed';
import { LOCAL_HOST_PORT, startLocalStack } from './stack';

/**
 * `npm start`: the whole system on this machine. Azurite and the simulators on fixed ports with
 * their data under .local/, then the function app in the local host on :7071. Ctrl-C stops it all.
 */
const root = path.resolve(__dirname, '..');
const settingsFile = path.join(root, 'local.settings.json');

interface LocalSettings {
  IsEncrypted?: boolean;
  /** Overrides for the generated app settings. */
  Values?: Record<string, string>;
  /** Function keys of the local host: any opens `function` routes; `master` opens `admin` ones. */
  FunctionKeys?: Record<string, string>;
}

function readLocalSettings(): LocalSettings {
  if (!existsSync(settingsFile)) {
    const fresh: LocalSettings = {
      IsEncrypted: false,
      Values: {},
      FunctionKeys: {
        default: randomBytes(18).toString('base64url'),
        master: randomBytes(18).toString('base64url'),
      },
    };
    writeFileSync(settingsFile, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600 });
    return fresh;
  }
  return JSON.parse(readFileSync(settingsFile, 'utf8')) as LocalSettings;
}

async function main(): Promise<void> {
  const local = readLocalSettings();
  const functionKeys = local.FunctionKeys ?? {};
  const stack = await startLocalStack({ ports: 'fixed', dataDir: path.join(root, '.local', 'data') });
  const settings = { ...stack.settings, ...(local.Values ?? {}) };
  const config = loadConfig(settings);
  const hostJson = JSON.parse(readFileSync(path.join(root, 'host.json'), 'utf8')) as HostJson;
  const host = await startHost({
    triggers: withQueuePrefix(triggers, config.storage.namePrefix),
    settings,
    port: LOCAL_HOST_PORT,
    hostJson,
    functionKeys,
    storageConnectionString: stack.azurite.connectionString,
  });

  const key =
    functionKeys.default ??
    Object.values(functionKeys)[0] ??
    '(none: add FunctionKeys to local.settings.json)';
  const line = (label: string, value: string) => console.log(`  ${label.padEnd(22)} ${value}`);
  console.log('\nSwitchboard is running locally.\n');
  line('Function app', `${host.url}  (function key: ${key})`);
  line('Health', `${host.url}/api/health`);
  line('Tables (Azurite)', stack.urls.tables);
  line('Queues (Azurite)', stack.urls.queues);
  line('Key Vault (sim)', stack.urls.keyVault);
  line('E-mail (sim)', `${stack.urls.email}  outbox: ${path.relative(root, stack.outboxDir)}`);
  line('Microsoft 365 (sim)', `${stack.urls.m365}  (tenants and users: ${stack.urls.m365}/)`);
  line(
    'AudioCodes SBC (sim)',
    `${stack.urls.sbc}  (REST user ${stack.sbcCredentials.username}, password ${stack.sbcCredentials.password})`,
  );
  line(
    'Orders webhook',
    `${host.url}/api/orders/events  (secret: ${stack.ordersWebhookSecret}; docs/orders-webhook.md)`,
  );
  line('OpenAPI', `${host.url}/api/openapi.json`);
  line('Data', path.relative(root, path.join(root, '.local', 'data')));
  console.log(`
Try it:
  curl ${host.url}/api/health
  curl -H "x-functions-key: ${key}" ${host.url}/api/health/details
  curl -H "x-functions-key: ${key}" -H "content-type: application/json" \\
       -d '{"id":"contoso","name":"Contoso Ltd","adminEmail":"patti@contoso.com","tenantId":"${seedIds.contoso.tenantId}"}' \\
       ${host.url}/api/customers
  curl -X POST -H "x-functions-key: ${key}" ${host.url}/api/customers/contoso/invitations
Then open the link from the newest .eml in ${path.relative(root, stack.outboxDir)} (or the "url" in the answer).
The simulators use a local development CA (.local/certs/ca.pem): your browser will warn once; accept it.
Ctrl-C stops everything.
`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the function host, then the local stack...`);
    await host.stop().catch((e: unknown) => console.error('host:', e));
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
