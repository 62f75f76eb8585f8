import { build } from 'esbuild';
import { statSync } from 'node:fs';

/**
 * Bundles the function app into one file for deployment: a smaller package and a faster cold start
 * than shipping node_modules. Only `@azure/functions-core` stays external: the Node worker provides it.
 */
async function main(): Promise<void> {
  const result = await build({
    entryPoints: ['functions/main.ts'],
    outfile: 'dist/main.js',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: 'linked',
    external: ['@azure/functions-core'],
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = statSync('dist/main.js').size;
  console.log(
    `dist/main.js ${(bytes / 1024).toFixed(0)} KiB, ${Object.keys(result.metafile.inputs).length} modules`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
