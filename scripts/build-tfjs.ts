/**
 * `npm run build:tfjs`: bundles the TensorFlow.js engines with tfjs (npm ci runs it as part of the
 * prepare script, the tests before they start). Not a `command()`: that loads the engines.
 */
import { relative } from 'node:path';
import { buildTfjs, TFJS_OUT, TFJS_SOURCE } from '../engines/tfjs/build.ts';
import { PROJECT_ROOT } from './paths.ts';

const HELP = `Usage: npm run build:tfjs

Bundles ${relative(PROJECT_ROOT, TFJS_SOURCE)} with TensorFlow.js's ES module builds into
${relative(PROJECT_ROOT, TFJS_OUT)}, which the tfjs-cpu and tfjs-wasm engines load.
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
    const { bytes } = await buildTfjs();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(`build:tfjs: ${relative(PROJECT_ROOT, TFJS_OUT)}, ${bytes} bytes, in ${seconds} s\n`);
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
    process.exitCode = 1;
  }
}
