import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startHost, type HostJson } from '../dev/host';
import { seedIds } from '../dev/m365/seed';
import { freePort } from '../dev/ports';
import { startLocalStack } from '../dev/stack';
import { ensureDevCertificates } from '../dev/tls/certs';
import { triggers } from '../functions';
import { loadConfig } from '../shared/config';
import { silentLog } from '../shared/log';
import { createServices } from '../shared/services';
import { withQueuePrefix } from '../shared/triggers';
import { consentedCustomer } from '../test/helpers/consent';

/**
 * A change in the Microsoft portal, visible in our tables: through change notifications (Graph
 * delivers to the local host on https, the route asks for a delta run, the queue worker runs it),
 * with latency injected on every token and Graph request. The baseline is the timer alone, every
 * REPLICATION_SYNC_MINUTES: a change waits half a period on average (computed, not waited for).
 */
export interface NotificationBenchResult {
  changes: number;
  latencyMs: number;
  ours: { medianMs: number; worstMs: number };
  timerOnly: { averageMs: number; worstMs: number };
}

export async function notificationBench(
  options: { changes?: number; latencyMs?: number } = {},
): Promise<NotificationBenchResult> {
  const changes = options.changes ?? 10;
  const latencyMs = options.latencyMs ?? 30;
  const port = await freePort();
  const stack = await startLocalStack({
    ports: 'free',
    quiet: true,
    publicBaseUrl: `https://127.0.0.1:${port}`,
  });
  try {
    const settings: Record<string, string> = {
      ...stack.settings,
      STORAGE_NAME_PREFIX: `b${randomBytes(4).toString('hex')}`,
    };
    process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT ?? '';
    process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER ?? '';
    const config = loadConfig(settings);
    const services = createServices(config);
    const certs = await ensureDevCertificates();
    const hostJson = JSON.parse(readFileSync(path.resolve(__dirname, '..', 'host.json'), 'utf8')) as HostJson;
    const host = await startHost({
      triggers: withQueuePrefix(triggers, config.storage.namePrefix),
      settings,
      port,
      hostJson,
      functionKeys: { default: 'bench', master: 'bench-master' },
      storageConnectionString: settings.AzureWebJobsStorage ?? '',
      log: () => undefined,
      timers: { enabled: false },
      tls: { cert: certs.cert, key: certs.key },
    });
    try {
      const c = seedIds.contoso;
      const customerId = `bench-${randomBytes(3).toString('hex')}`;
      await consentedCustomer(services, { id: customerId, name: 'Contoso', adminEmail: 'patti@contoso.com' });
      // The first run copies the tenant and subscribes; from then on only notifications drive runs.
      await services.replication.runSync(customerId, silentLog);
      if (stack.m365.notifications.subscriptions(c.tenantId).length !== 2) throw new Error('not subscribed');
      stack.m365.setLatency({ tokenMs: latencyMs, graphMs: latencyMs });
      const pk = customerId.toLowerCase();
      const took: number[] = [];
      for (let i = 0; i < changes; i++) {
        const title = `Bench ${i}`;
        const t0 = Date.now();
        stack.m365.portal.updateUser(c.tenantId, c.user, { jobTitle: title });
        for (;;) {
          const row = await services.replication.repos.users.get(pk, c.user);
          if (row?.value.jobTitle === title) break;
          if (Date.now() - t0 > 120_000) throw new Error('a change did not arrive within two minutes');
          await new Promise((r) => setTimeout(r, 20));
        }
        took.push(Date.now() - t0);
        // Let the tenant's mailbox settle, so each change is measured on its own.
        await new Promise((r) => setTimeout(r, 500));
      }
      const sorted = [...took].sort((a, b) => a - b);
      const periodMs = config.replication.syncMinutes * 60_000;
      return {
        changes,
        latencyMs,
        ours: { medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0, worstMs: sorted.at(-1) ?? 0 },
        timerOnly: { averageMs: periodMs / 2, worstMs: periodMs },
      };
    } finally {
      await host.stop();
    }
  } finally {
    await stack.stop();
  }
}

if (require.main === module) {
  notificationBench()
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
