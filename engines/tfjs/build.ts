/**
 * Bundles the TensorFlow.js engines (tfjs-engine.ts) with tfjs into build/tfjs-engine.mjs (ignored by
 * git): `npm run build:tfjs`, which `npm ci` (the prepare script) and the test run's global setup
 * call. Bundled because tfjs-core registers its gradients only from its ES module build, which plain
 * Node never loads (the packages' `main` is CommonJS); with the options below a plugin with npm
 * dependencies is bundled the same way (docs/engines.md, "Plugins with npm dependencies").
 */
import { renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

export const TFJS_SOURCE = fileURLToPath(new URL('./tfjs-engine.ts', import.meta.url));
export const TFJS_OUT = fileURLToPath(new URL('./build/tfjs-engine.mjs', import.meta.url));

/**
 * What an ES module bundle for Node needs that CommonJS code in it takes for granted: `require` (for
 * Node's built-in modules, which stay outside the bundle), `__filename` and `__dirname`
 * (tfjs-backend-wasm's Emscripten glue reads both). The imports are renamed so that they clash with
 * nothing the bundle declares.
 */
export const ESM_NODE_BANNER =
  "import { createRequire as __bannerRequire } from 'node:module'; " +
  "import { fileURLToPath as __bannerPath } from 'node:url'; " +
  "import { dirname as __bannerDirname } from 'node:path'; " +
  'const require = __bannerRequire(import.meta.url); ' +
  'const __filename = __bannerPath(import.meta.url); ' +
  'const __dirname = __bannerDirname(__filename);';

/**
 * esbuild's options for an engines module with npm dependencies: one ES module for Node, packages
 * taken from their ES module builds where they have one (`module` before `main`), and the banner.
 */
export const PLUGIN_BUNDLE_OPTIONS = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  banner: { js: ESM_NODE_BANNER },
  logLevel: 'silent',
} as const satisfies BuildOptions;

/** Builds build/tfjs-engine.mjs (written beside it, then renamed: a reader never sees half a bundle). */
export async function buildTfjs(): Promise<{ bytes: number }> {
  const { build } = await import('esbuild');
  const partial = `${TFJS_OUT}.${process.pid}.partial`;
  try {
    const result = await build({
      ...PLUGIN_BUNDLE_OPTIONS,
      entryPoints: [TFJS_SOURCE],
      outfile: partial,
      metafile: true,
    });
    renameSync(partial, TFJS_OUT);
    return { bytes: Object.values(result.metafile.outputs)[0].bytes };
  } finally {
    rmSync(partial, { force: true });
  }
}
