import { buildTfjs } from '../engines/tfjs/build.ts';
import { buildKernels } from '../engines/wasm/compile.ts';
import { COMPILED_SCRIPTS_VAR, compileScripts } from './compiled-scripts.ts';

/**
 * Before any test runs: the wasm engine's module built from its AssemblyScript source (unless built
 * from the same source already), the tfjs engines' bundle, and the command scripts compiled for the
 * tests to start (the folder passed on to the test processes in the environment).
 */
export default async function setup(): Promise<void> {
  // Inherited by every test process and what it starts: with NODE_EXTRA_CA_CERTS (set to the whole
  // system bundle on some CI images), each Node process parses every certificate first, about 0.07 s
  // of CPU, over the suite's thousand-odd processes. No test opens a TLS connection.
  delete process.env.NODE_EXTRA_CA_CERTS;
  buildKernels({ reuse: true });
  await buildTfjs();
  process.env[COMPILED_SCRIPTS_VAR] = await compileScripts();
}
