import { buildKernels } from '../engines/wasm/compile.ts';

/** The wasm engine's module is rebuilt from its AssemblyScript source before any test runs. */
export default function setup(): void {
  buildKernels();
}
