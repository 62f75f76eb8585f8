import { statSync } from 'node:fs';
import { build, type Metafile } from 'esbuild';

/**
 * Bundles the function app into one file for deployment: a smaller package and a faster cold start
 * than shipping node_modules (see `npm run bench`). Only `@azure/functions-core` stays external:
 * the Node worker provides it.
 *
 * The target is Azure's runtime, Node 22 (infra/app/function-app.bicep). The same bundle still
 * loads on Node 20, which local runs and tests use: the sources only use syntax both support, so
 * the target changes nothing esbuild would have to lower (test/integration/scripts loads it).
 */
export async function bundle(outfile: string, options: { sourcemap?: boolean } = {}): Promise<Metafile> {
  const result = await build({
    entryPoints: ['functions/main.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: options.sourcemap ? 'linked' : false,
    external: ['@azure/functions-core'],
    // Some dependencies are ESM that call createRequire(import.meta.url); in a CommonJS bundle that
    // must be the bundle's own file URL.
    banner: { js: 'const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
    define: { 'import.meta.url': '__importMetaUrl' },
    metafile: true,
    logLevel: 'warning',
  });
  return result.metafile;
}

if (require.main === module) {
  bundle('dist/main.js', { sourcemap: true }).then(
    (meta) => {
      const bytes = statSync('dist/main.js').size;
      console.log(
        `dist/main.js ${(bytes / 1024).toFixed(0)} KiB, ${Object.keys(meta.inputs).length} modules`,
      );
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
