/**
 * `npm run build:wasm`: compiles the wasm engine's AssemblyScript source (npm ci runs it as the
 * prepare script, the tests before they start). Not a `command()`: that loads the engines, and the
 * wasm engine needs this build.
 */
import { relative } from 'node:path';
import { BUILD_DIR, buildKernels, KERNELS_SOURCE } from '../engines/wasm/compile.ts';
import { PROJECT_ROOT } from './paths.ts';

const HELP = `Usage: npm run build:wasm

Compiles the wasm engine's module from ${relative(PROJECT_ROOT, KERNELS_SOURCE)} with AssemblyScript
into ${relative(PROJECT_ROOT, BUILD_DIR)}/ (kernels.wasm, and kernels-binary.ts, which the engine loads).
npm ci and npm install run it, and so does npm test before the tests start.
`;

const args = process.argv.slice(2);
if (args.includes('--help')) {
  process.stdout.write(HELP);
} else if (args.length > 0) {
  process.stderr.write(`error: unexpected argument '${args[0]}' (see --help)\n`);
  process.exitCode = 2;
} else {
  const started = performance.now();
  try {
    const binary = buildKernels();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(
      `build:wasm: ${relative(PROJECT_ROOT, BUILD_DIR)}/kernels.wasm, ${binary.length} bytes, in ${seconds} s\n`,
    );
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
