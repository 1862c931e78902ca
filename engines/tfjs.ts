/**
 * The TensorFlow.js engines' entry: loads the bundle engines/tfjs/build.ts makes of
 * engines/tfjs/tfjs-engine.ts and tfjs's ES module builds (npm ci builds it, as it builds the wasm
 * engine's module), only when a tfjs engine is created, so no other engine's process loads tfjs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Engine } from './engine.ts';
import { InputError } from './input-error.ts';
import type { TfjsBackend } from './tfjs/tfjs-engine.ts';

/** Where the bundle lands, relative to the project's root. */
export const TFJS_BUNDLE = join('engines', 'tfjs', 'build', 'tfjs-engine.mjs');

/**
 * The project's root: the nearest folder up from this module with microgpt-bench's package.json. Not
 * a path relative to this module, which bench:all's compiled worker and the profilers run from copies.
 */
export function projectRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'microgpt-bench'
    )
      return dir;
    if (dirname(dir) === dir) throw new Error(`no microgpt-bench package.json above ${from}`);
  }
}

/** A tfjs engine on `backend`; an InputError naming the command that builds the bundle when it is missing. */
export async function createTfjs(backend: TfjsBackend): Promise<Engine> {
  const bundle = join(projectRoot(), TFJS_BUNDLE);
  if (!existsSync(bundle)) throw new InputError(`the tfjs engines need their bundle: run npm run build:tfjs`);
  const { createTfjsEngine } = (await import(pathToFileURL(bundle).href)) as typeof import('./tfjs/tfjs-engine.ts');
  return createTfjsEngine(backend);
}
