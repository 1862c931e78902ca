import { buildTfjs } from '../engines/tfjs/build.ts';
import { buildKernels } from '../engines/wasm/compile.ts';

/** Before any test runs: the wasm engine's module rebuilt from its AssemblyScript source, the tfjs engines' bundle. */
export default async function setup(): Promise<void> {
  buildKernels();
  await buildTfjs();
}
