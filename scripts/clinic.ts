import type { EngineRegistry } from '../engines/registry.ts';
import { join } from 'node:path';
import { InputError } from '../engines/input-error.ts';
import { command } from './cli.ts';
import { REPORTS_DIR } from './paths.ts';
import { PROFILE_FLAGS, profileHelp, profileInFreshDir, profileJob, runProfilerCli } from './profiling.ts';

const TOOLS = ['doctor', 'flame'];
const DEFAULT_OUT = join(REPORTS_DIR, 'clinic');

const help = (engines: EngineRegistry) => `Usage: npm run clinic -- doctor|flame [--engine NAME] [--steps N] [options]

Runs the training job on one engine under Clinic.js and writes its HTML report:
  doctor   CPU, memory, event-loop delay and active handles over time, with Clinic's diagnosis
  flame    a flamegraph of where the CPU time goes
The last line on stdout is the HTML file's path. Clinic's usage-statistics question is answered
"no" (NO_INSIGHT), so it never waits for input.

${profileHelp(engines, DEFAULT_OUT)}`;

command({
  help,
  flags: PROFILE_FLAGS,
  positionals: true,
  async run({ values, positionals, engines }) {
    if (positionals.length !== 1 || !TOOLS.includes(positionals[0])) {
      const got = positionals.length === 0 ? 'none' : `'${positionals.join(' ')}'`;
      throw new InputError(
        `expected one Clinic.js tool, doctor or flame (npm run clinic -- doctor --engine NAME), got ${got}`,
      );
    }
    const tool = positionals[0];
    const job = profileJob(engines, values, DEFAULT_OUT);
    await profileInFreshDir(`clinic ${tool}`, job, (runDir, command) =>
      // Without NO_INSIGHT, clinic asks for consent on stdin; with stdin closed it then exits 0 having written nothing.
      runProfilerCli(
        `clinic ${tool}`,
        'clinic/bin.js',
        [tool, '--open=false', '--dest', runDir, '--', ...command],
        runDir,
        {
          NO_INSIGHT: '1',
          NO_UPDATE_NOTIFIER: '1',
        },
      ),
    );
  },
});
