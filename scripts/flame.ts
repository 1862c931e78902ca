import type { EngineRegistry } from '../engines/registry.ts';
import { join } from 'node:path';
import { command } from './cli.ts';
import { REPORTS_DIR } from './paths.ts';
import { PROFILE_FLAGS, profileHelp, profileInFreshDir, profileJob, runProfilerCli } from './profiling.ts';

const DEFAULT_OUT = join(REPORTS_DIR, 'flame');

const help = (engines: EngineRegistry) => `Usage: npm run flame -- [--engine NAME] [--steps N] [options]

Runs the training job on one engine under 0x and writes a flamegraph (one self-contained HTML
file, no network needed). Every function of the job appears with its file, so an engine's own
work shows up under engines/<engine>.ts. The last line on stdout is the HTML file's path.

${profileHelp(engines, DEFAULT_OUT)}`;

command({
  help,
  flags: PROFILE_FLAGS,
  async run({ values, engines }) {
    const job = profileJob(engines, values, DEFAULT_OUT);
    await profileInFreshDir('0x', job, (runDir, command) =>
      // 0x writes the V8 log into its working directory and moves it to --output-dir, so the two must differ.
      runProfilerCli(
        '0x',
        '0x/cmd.js',
        ['--output-dir', 'data', '--output-html', 'flamegraph.html', '--', ...command],
        runDir,
      ),
    );
  },
});
