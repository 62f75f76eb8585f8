import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startHost, type HostJson } from '../dev/host';
import { startSbcSimulator, type SbcSimulator } from '../dev/sbc/server';
import { startLocalStack } from '../dev/stack';
import { triggers } from '../functions';
import { loadConfig } from '../shared/config';
import { createSbcClient } from '../shared/sbc/client';
import { defaultTemplates, renderTemplate } from '../shared/sbc/templates';
import { siteContext } from '../shared/dialplan/rules';
import { createServices } from '../shared/services';
import { withQueuePrefix } from '../shared/triggers';

/**
 * SBC dial plans: 1,000 prefix changes for 50 customers on 2 SBCs, through the API and the queue
 * worker of the local host (Azurite, simulated Key Vault and SBCs with latency injected on every
 * device request), against the straightforward way: one incremental script pushed per change.
 */
export interface SbcBenchResult {
  changes: number;
  quietSeconds: number;
  deviceLatencyMs: number;
  ours: { pushesPerSbc: number[]; maxPerWindow: number; ms: number; postingMs: number };
  baseline: { pushesPerSbc: number[]; ms: number };
}

const CUSTOMERS = 50;
const PER_CUSTOMER = 20;
/** Per device request; a real Mediant takes a second or more to apply an incremental script. */
const LATENCY_MS = 200;
const QUIET_SECONDS = 5;

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('bench: timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function inBatches<T>(items: T[], size: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

export async function sbcBench(): Promise<SbcBenchResult> {
  const stack = await startLocalStack({ ports: 'free', quiet: true });
  const sims: SbcSimulator[] = [];
  try {
    const tls = { cert: stack.certs.cert, key: stack.certs.key };
    const password = randomBytes(12).toString('base64url');
    for (let i = 0; i < 2; i++) {
      const sim = await startSbcSimulator({ tls, username: 'Admin', password });
      sim.addDialPlan('Customers');
      sims.push(sim);
    }
    const settings: Record<string, string> = {
      ...stack.settings,
      STORAGE_NAME_PREFIX: `b${randomBytes(4).toString('hex')}`,
      SBC_QUIET_SECONDS: String(QUIET_SECONDS),
    };
    process.env.IDENTITY_ENDPOINT = settings.IDENTITY_ENDPOINT ?? '';
    process.env.IDENTITY_HEADER = settings.IDENTITY_HEADER ?? '';
    const config = loadConfig(settings);
    const services = createServices(config);
    const hostJson = JSON.parse(readFileSync(path.resolve(__dirname, '..', 'host.json'), 'utf8')) as HostJson;
    const host = await startHost({
      triggers: withQueuePrefix(triggers, config.storage.namePrefix),
      settings,
      port: 0,
      hostJson,
      functionKeys: { default: 'bench', master: 'bench-master' },
      storageConnectionString: settings.AzureWebJobsStorage ?? '',
      log: () => undefined,
      timers: { enabled: false },
    });
    try {
      const customers = Array.from({ length: CUSTOMERS }, (_, i) => `cust${String(i).padStart(2, '0')}`);
      const sbcOf = (i: number) => `sbc${i % 2}`;
      for (const [i, sim] of sims.entries()) {
        await services.dialplan.sbcs.add(
          {
            id: `sbc${i}`,
            name: `SBC ${i}`,
            fqdn: '127.0.0.1',
            port: Number(new URL(sim.url).port),
            adminUser: 'Admin',
            adminPassword: password,
          },
          'bench',
        );
      }
      await inBatches(customers, 10, (id) =>
        services.customers.create({ id, name: id, adminEmail: `admin@${id}.example.com` }, 'bench'),
      );
      await inBatches([...customers.entries()], 10, ([i, id]) =>
        services.dialplan.sites.create(
          sbcOf(i),
          { customerId: id, configuration: 'sip-trunk', dialPlan: 'Customers', carrierId: 'Carrier' },
          'bench',
        ),
      );
      await until(async () => sims.every((s) => s.state.ipGroups.length === CUSTOMERS), 120_000);
      for (const s of sims) s.state.delayMs = LATENCY_MS;

      // Ours: every change through the API; the host's worker pushes what is pending per SBC.
      const before = sims.map((s) => s.state.uploads.length);
      // As orders arrive: customer after customer, round and round (not one customer's 20 in a row).
      const changes = Array.from({ length: PER_CUSTOMER }, (_, k) =>
        customers.map((id, i) => ({
          sbc: sbcOf(i),
          site: id,
          prefix: `+31${String(i).padStart(2, '0')}${String(k).padStart(3, '0')}`,
        })),
      ).flat();
      const started = Date.now();
      await inBatches(changes, 25, (c) =>
        services.dialplan.sites.changePrefixes(c.sbc, c.site, { add: [c.prefix] }, 'bench'),
      );
      const postingMs = Date.now() - started;
      const ruleCount = (s: SbcSimulator) => s.state.dialPlans.get('Customers')?.rules.size ?? 0;
      await until(async () => sims.every((s) => ruleCount(s) === (CUSTOMERS / 2) * PER_CUSTOMER), 300_000);
      const ms = Date.now() - started;
      const pushesPerSbc = sims.map((s, i) => s.state.uploads.length - (before[i] ?? 0));
      // The most pushes one SBC took within any quiet window.
      const maxPerWindow = Math.max(
        ...sims.map((s, i) => {
          const times = s.state.uploads.slice(before[i] ?? 0).map((u) => u.at);
          return Math.max(
            0,
            ...times.map((t) => times.filter((x) => x >= t && x < t + QUIET_SECONDS * 1000).length),
          );
        }),
      );

      // Baseline: one incremental script per change, pushed as it comes (each SBC one at a time).
      const baseBefore = sims.map((s) => s.state.uploads.length);
      const baseStarted = Date.now();
      await Promise.all(
        sims.map(async (sim, i) => {
          const client = createSbcClient({
            baseUrl: sim.url,
            username: 'Admin',
            password,
            timeoutMs: 30_000,
          });
          for (const c of changes.filter((x) => x.sbc === `sbc${i}`)) {
            const site = (await services.dialplan.repos.sites.get(c.sbc, c.site))!.value;
            const script = renderTemplate(
              'sbc-add-prefix',
              defaultTemplates['sbc-add-prefix'],
              siteContext(site, { toAdd: [{ prefix: `${c.prefix}9`, tag: site.trunkFqdn }] }),
            );
            const answer = await client.pushIncremental(script);
            if (answer.kind !== 'applied') throw new Error(`baseline push: ${answer.kind}`);
          }
        }),
      );
      const baseMs = Date.now() - baseStarted;
      return {
        changes: changes.length,
        quietSeconds: QUIET_SECONDS,
        deviceLatencyMs: LATENCY_MS,
        ours: { pushesPerSbc, maxPerWindow, ms, postingMs },
        baseline: {
          pushesPerSbc: sims.map((s, i) => s.state.uploads.length - (baseBefore[i] ?? 0)),
          ms: baseMs,
        },
      };
    } finally {
      await host.stop();
    }
  } finally {
    for (const s of sims) await s.stop();
    await stack.stop();
  }
}
