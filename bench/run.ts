import { coldStart } from './cold-start';
import { sbcBench } from './sbc';

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
  const sbc = await sbcBench();
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
  console.log(['measure', 'switchboard', 'baseline', 'ratio'].join(' | '));
  for (const r of rows) console.log(r.join(' | '));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
