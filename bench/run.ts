import { coldStart } from './cold-start';

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
  console.log(['measure', 'switchboard', 'baseline', 'ratio'].join(' | '));
  for (const r of rows) console.log(r.join(' | '));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
