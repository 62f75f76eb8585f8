import { mkdirSync, writeFileSync } from 'node:fs';
import { coldStart } from './cold-start';
import { isolated } from './isolated';
import type { notificationBench } from './notifications';
import type { replicationBench } from './replication';
import type { sbcBench } from './sbc';
import type { tokenBench } from './tokens';

type Result<F extends (...args: never[]) => Promise<unknown>> = Awaited<ReturnType<F>>;

/**
 * `npm run bench`: each measurement side by side with the straightforward way, in the same run,
 * reported as a ratio (ours / baseline; below 1 is better).
 */
async function main(): Promise<void> {
  const c = await coldStart();
  const rows = [
    [
      'cold start: load the function entry (median of 9)',
      `${c.bundledMs.toFixed(0)} ms`,
      `${c.unbundledMs.toFixed(0)} ms`,
      (c.bundledMs / c.unbundledMs).toFixed(2),
    ],
    ['bundle size (dist/main.js, minified)', `${(c.bundleBytes / 1024).toFixed(0)} KiB`, 'node_modules', '-'],
  ];
  const sbc = await isolated<Result<typeof sbcBench>>('sbc');
  const ourPushes = sbc.ours.pushesPerSbc.reduce((a, b) => a + b, 0);
  const basePushes = sbc.baseline.pushesPerSbc.reduce((a, b) => a + b, 0);
  rows.push(
    [
      `SBC: pushes for ${sbc.changes} prefix changes, 50 customers, 2 SBCs (quiet window ${sbc.quietSeconds} s)`,
      `${ourPushes} (${sbc.ours.pushesPerSbc.join(' + ')}; at most ${sbc.ours.maxPerWindow} per SBC per window)`,
      `${basePushes} (one per change)`,
      (ourPushes / basePushes).toFixed(3),
    ],
    [
      `SBC: wall time until all are on the devices (${sbc.deviceLatencyMs} ms per device request; ours: API + queue + worker)`,
      `${(sbc.ours.ms / 1000).toFixed(1)} s (posting ${(sbc.ours.postingMs / 1000).toFixed(1)} s)`,
      `${(sbc.baseline.ms / 1000).toFixed(1)} s (pushes only)`,
      (sbc.ours.ms / sbc.baseline.ms).toFixed(2),
    ],
  );
  const t = await isolated<Result<typeof tokenBench>>('tokens');
  rows.push(
    [
      `tokens: verify-all, ${t.customers} customers, ${t.latencyMs} ms per Microsoft request (one round)`,
      `${(t.ours.firstRoundMs / 1000).toFixed(1)} s (${t.ours.healthy} healthy)`,
      `${(t.naive.firstRoundMs / 1000).toFixed(1)} s`,
      (t.ours.firstRoundMs / t.naive.firstRoundMs).toFixed(2),
    ],
    [
      'tokens: requests at Microsoft per day (a verification every 6 h)',
      String(t.ours.requests),
      String(t.naive.requests),
      (t.ours.requests / t.naive.requests).toFixed(2),
    ],
    [
      `tokens: Key Vault writes per customer per day (${t.days} simulated days; naive: a new version per use)`,
      t.ours.vaultWritesPerCustomerPerDay.toFixed(2),
      t.naive.vaultWritesPerCustomerPerDay.toFixed(2),
      (t.ours.vaultWritesPerCustomerPerDay / t.naive.vaultWritesPerCustomerPerDay).toFixed(2),
    ],
  );
  const n = await isolated<Result<typeof notificationBench>>('notifications');
  rows.push([
    `replication: a portal change in our tables through change notifications (${n.changes} changes, ${n.latencyMs} ms per Microsoft request; baseline: the timer alone, computed)`,
    `${(n.ours.medianMs / 1000).toFixed(2)} s median, ${(n.ours.worstMs / 1000).toFixed(2)} s worst`,
    `${(n.timerOnly.averageMs / 1000).toFixed(0)} s average, ${(n.timerOnly.worstMs / 1000).toFixed(0)} s worst`,
    (n.ours.medianMs / n.timerOnly.averageMs).toFixed(3),
  ]);
  const r = await isolated<Result<typeof replicationBench>>('replication');
  const { ours, baseline } = r.initial;
  const mb = (n: number) => `${n.toFixed(0)} MB`;
  rows.push(
    [
      `replication: initial sync, ${r.tenant.users} users, ${r.tenant.groups} groups, ${r.tenant.memberships} memberships (${r.latencyMs} ms per Microsoft request): wall time`,
      `${(ours.ms / 1000).toFixed(1)} s`,
      `${(baseline.ms / 1000).toFixed(1)} s (PageIterator, upsert every row)`,
      (ours.ms / baseline.ms).toFixed(3),
    ],
    [
      `replication: initial sync, Graph requests / Table transactions (${ours.rows} rows written, users to Teams voice; target ≤ ${Math.floor((1.1 * ours.rows) / 100)})`,
      `${ours.graphRequests} / ${ours.tableTransactions}`,
      `${baseline.graphRequests} / ${baseline.tableTransactions}`,
      (ours.tableTransactions / baseline.tableTransactions).toFixed(3),
    ],
    [
      'replication: initial sync, peak memory of the process (maxRSS, target < 256 MB)',
      mb(ours.maxRssMB),
      mb(baseline.maxRssMB),
      (ours.maxRssMB / baseline.maxRssMB).toFixed(2),
    ],
    [
      'replication: a cycle with nothing changed, Graph requests / Table writes',
      `${r.quiet.graphRequests} / ${r.quiet.tableWrites}`,
      `${baseline.graphRequests} / ${baseline.tableTransactions} (everything again)`,
      (r.quiet.graphRequests / baseline.graphRequests).toFixed(4),
    ],
    [
      `replication: a cycle with 1% changed (${r.changed.usersChanged} users, ${r.changed.membershipsChanged} memberships), Graph requests / Table writes`,
      `${r.changed.graphRequests} / ${r.changed.tableWrites}`,
      `${baseline.graphRequests} / ${baseline.tableTransactions} (everything again)`,
      (r.changed.tableWrites / baseline.tableTransactions).toFixed(4),
    ],
    [
      `replication: one cycle over ${r.fleet.tenants} tenants of ${r.fleet.usersPerTenant} users, nothing changed, one instance (${r.fleet.throttled} answers 429 on the way)`,
      `${(r.fleet.ms / 1000).toFixed(1)} s, ${(r.fleet.projected2000Ms / 1000).toFixed(1)} s for 2,000 (${r.fleet.graphRequestsPerTenant.toFixed(2)} Graph requests, ${r.fleet.tableWritesPerTenant.toFixed(1)} Table writes per tenant; Retry-After ignored ${r.fleet.ignoredRetryAfter} times)`,
      'target 60 s',
      (r.fleet.projected2000Ms / 60_000).toFixed(2),
    ],
  );
  mkdirSync('.local/bench', { recursive: true });
  writeFileSync('.local/bench/replication.json', `${JSON.stringify(r, null, 2)}\n`);
  console.log(JSON.stringify({ replication: r }));
  console.log(['measure', 'switchboard', 'baseline', 'ratio'].join(' | '));
  for (const r of rows) console.log(r.join(' | '));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
