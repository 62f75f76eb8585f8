import { Client, PageIterator, type PageCollection } from '@microsoft/microsoft-graph-client';
import { loadConfig } from '../shared/config';
import { createLog } from '../shared/log';
import { USER_SELECT } from '../shared/replication/rules';
import { createServices } from '../shared/services';

/**
 * One side of the replication bench's initial sync, in a process of its own so its peak memory is
 * its own (`maxRSS`): `ours` runs the product's sync (replication.runSync, as the worker does) until
 * the tenant is synced; `baseline` is the straightforward way: the Graph SDK's PageIterator over
 * /users, /groups and every /groups/{id}/members, upserting every row one by one.
 * Input: BENCH_SIDE (JSON: side, settings, customerId). Output: one JSON line on stdout.
 */
interface SideInput {
  side: 'ours' | 'baseline';
  settings: Record<string, string>;
  customerId: string;
}

export interface SideResult {
  side: 'ours' | 'baseline';
  ms: number;
  tableTransactions: number;
  rows: number;
  runs: number;
  maxRssMB: number;
}

const quiet = createLog({
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as Parameters<typeof createLog>[0]);

async function ours(input: SideInput): Promise<Omit<SideResult, 'side' | 'maxRssMB'>> {
  let writes = 0;
  const services = createServices(loadConfig(input.settings), {
    // Entity writes only: creating a table (POST /Tables) happens once per process.
    observeTables: ({ method, url }) => {
      if (method !== 'GET' && !/\/Tables$/.test(url)) writes++;
    },
  });
  const began = performance.now();
  let runs = 0;
  for (;;) {
    runs++;
    const r = await services.replication.runSync(input.customerId, quiet);
    if (r.outcome === 'synced') {
      // Every row the run wrote: the directory, and each user's Teams voice configuration.
      const rows = r.usersWritten + r.groupsWritten + r.membershipsWritten + (r.voice?.written ?? 0);
      return { ms: performance.now() - began, tableTransactions: writes, rows, runs };
    }
    if (r.outcome !== 'requeued') throw new Error(`sync ended ${r.outcome}`);
    // As the queue would hand the continuation back, after its delay.
    await new Promise((resolve) => setTimeout(resolve, r.delaySeconds * 1000));
  }
}

async function baseline(input: SideInput): Promise<Omit<SideResult, 'side' | 'maxRssMB'>> {
  const services = createServices(loadConfig(input.settings));
  const customer = await services.customers.get(input.customerId);
  const began = performance.now();
  const { accessToken } = await services.tokens.redeem(customer);
  const base = new URL(services.config.graph.baseUrl);
  const client = Client.initWithMiddleware({
    authProvider: { getAccessToken: () => Promise.resolve(accessToken) },
    baseUrl: `${base.origin}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([base.hostname]),
  });
  const users = services.storage.table('baseusers');
  const groups = services.storage.table('basegroups');
  const members = services.storage.table('basemembers');
  const voice = services.storage.table('basevoice');
  let writes = 0;
  for (const t of [users, groups, members, voice]) await t.createTable();
  const pk = input.customerId;
  const each = async (first: PageCollection, upsert: (item: Record<string, unknown>) => Promise<void>) => {
    // The SDK's callback is synchronous: it pauses the iterator (returns false) every 100 items,
    // the rows are upserted, and the iteration resumes (the documented way to do async work).
    const pending: Record<string, unknown>[] = [];
    const iterator = new PageIterator(client, first, (item: Record<string, unknown>) => {
      pending.push(item);
      return pending.length < 100;
    });
    await iterator.iterate();
    for (;;) {
      for (const item of pending.splice(0)) await upsert(item);
      if (iterator.isComplete()) break;
      await iterator.resume();
    }
  };
  const groupIds: string[] = [];
  await each(
    await client
      .api('/users')
      .select([...USER_SELECT])
      .top(999)
      .get(),
    async (u) => {
      await users.upsertEntity({
        partitionKey: pk,
        rowKey: String(u.id),
        json: JSON.stringify(u),
      });
      writes++;
    },
  );
  await each(await client.api('/groups').top(999).get(), async (g) => {
    groupIds.push(String(g.id));
    await groups.upsertEntity({ partitionKey: pk, rowKey: String(g.id), json: JSON.stringify(g) });
    writes++;
  });
  for (const id of groupIds) {
    await each(await client.api(`/groups/${id}/members`).select(['id']).top(999).get(), async (m) => {
      await members.upsertEntity({ partitionKey: pk, rowKey: `${id}|${String(m.id)}` });
      writes++;
    });
  }
  // The same Teams voice configurations ours reads on its first run (no delta: every page).
  await each(await client.api('/admin/teams/userConfigurations').get(), async (v) => {
    await voice.upsertEntity({ partitionKey: pk, rowKey: String(v.id), json: JSON.stringify(v) });
    writes++;
  });
  return { ms: performance.now() - began, tableTransactions: writes, rows: writes, runs: 1 };
}

async function main(): Promise<void> {
  const input = JSON.parse(process.env.BENCH_SIDE ?? '{}') as SideInput;
  process.env.IDENTITY_ENDPOINT = input.settings.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = input.settings.IDENTITY_HEADER;
  const result = input.side === 'ours' ? await ours(input) : await baseline(input);
  const out: SideResult = {
    side: input.side,
    ...result,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
