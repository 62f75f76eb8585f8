import { readFileSync } from 'node:fs';
import path from 'node:path';
import { triggers } from '../../functions';
import { startHost, type Host, type HostJson } from '../../dev/host';
import { loadConfig } from '../../shared/config';
import { withQueuePrefix } from '../../shared/triggers';

export const TEST_FUNCTION_KEY = 'test-function-key';
export const TEST_MASTER_KEY = 'test-master-key';

const hostJson = JSON.parse(
  readFileSync(path.resolve(__dirname, '..', '..', 'host.json'), 'utf8'),
) as HostJson;

/** The app's real trigger list in the local host, on a free port, against the given settings. */
export async function startTestHost(
  settings: Record<string, string>,
  options: { timers?: boolean; tls?: { cert: string; key: string }; port?: number } = {},
): Promise<Host> {
  const config = loadConfig(settings);
  return startHost({
    triggers: withQueuePrefix(triggers, config.storage.namePrefix),
    settings,
    port: options.port ?? 0,
    hostJson,
    functionKeys: { default: TEST_FUNCTION_KEY, master: TEST_MASTER_KEY },
    storageConnectionString: settings.AzureWebJobsStorage ?? '',
    log: () => undefined,
    timers: { enabled: options.timers ?? false },
    ...(options.tls ? { tls: options.tls } : {}),
  });
}
