import type { EngineRegistry } from '../engines/registry.ts';
import { command } from './cli.ts';
import { REPORTS_DIR } from './paths.ts';
import { PROFILE_FLAGS, profileHelp, profileInFreshDir, profileJob, runProfilerCli } from './profiling.ts';
import { configFromFlags, engineFlag } from './job-flags.ts';
import { countStepsOf, flameFromCounts } from './flame-counts.ts';
import { outputDir } from './output-paths.ts';
import { InputError } from '../engines/input-error.ts';
import { loadDatasetFile } from '../workload/dataset.ts';
import { assertRereadable } from './child-data.ts';
import { join, resolve } from 'node:path';

const FLAGS = { ...PROFILE_FLAGS, counts: { type: 'boolean' }, 'count-steps': { type: 'string' } } as const;

const DEFAULT_OUT = join(REPORTS_DIR, 'flame');

const help = (engines: EngineRegistry) => `Usage: npm run flame -- [--engine NAME] [--steps N] [options]

Runs the training job on one engine under 0x and writes a flamegraph (one self-contained HTML
file, no network needed). Every function of the job appears with its file, so an engine's own
work shows up under engines/<engine>.ts. The last line on stdout is the HTML file's path.

With --counts, the training steps are counted once under valgrind instead (callgrind, as bench:all
--counts counts them) and drawn per function: an icicle of estimated cycles per step by group and
function (each function's own cost, exact, no sampling) and a table with V8's tiers apart, written
as <out>/<engine>/<timestamp>/counts.html.
  --counts             profile from instruction counts (needs valgrind)
  --count-steps N      the steps counted (default 20, or the job's if fewer)

${profileHelp(engines, DEFAULT_OUT)}`;

command({
  help,
  flags: FLAGS,
  async run({ values, engines }) {
    if (values.counts) {
      const engine = engineFlag(engines, values.engine);
      const config = configFromFlags(values);
      countStepsOf(values['count-steps']);
      if (values.data !== undefined) assertRereadable(loadDatasetFile(resolve(values.data)), values.data);
      const outDir = outputDir('out', values.out ?? DEFAULT_OUT);
      await flameFromCounts({
        engine,
        config,
        dataPath: values.data ?? null,
        outDir,
        countSteps: values['count-steps'],
      });
      return;
    }
    if (values['count-steps'] !== undefined) throw new InputError('--count-steps needs --counts');
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
