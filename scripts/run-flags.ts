/** The flags bench:all and bench:sweep share: which engines, how many runs, their limit, and the count pass. */
import { availableParallelism } from 'node:os';
import type { EngineRegistry } from '../engines/registry.ts';
import { valgrindVersion } from '../scenarios/bench/counts/callgrind.ts';
import { InputError } from '../engines/input-error.ts';
import { intFlag, timeoutFlag, type FlagValues } from './cli.ts';
import { defaultEnginesHelp, enginesFlag } from './job-flags.ts';

export const DEFAULT_TRIALS = 3;
export const DEFAULT_TIMEOUT_SECONDS = 600;
/**
 * The count job's steps unless --count-steps says otherwise: short enough that the scalar engines'
 * count runs (about 5 s a step under callgrind) fit the whole pass in a few minutes.
 */
export const DEFAULT_COUNT_STEPS = 20;

export const RUN_FLAGS = {
  engines: { type: 'string' },
  trials: { type: 'string' },
  timeout: { type: 'string' },
  counts: { type: 'boolean' },
  'count-steps': { type: 'string' },
  'count-skip': { type: 'string' },
  'count-jobs': { type: 'string' },
} as const;

/** Count runs at once: one per core (counts do not change with the machine's load). */
const DEFAULT_COUNT_JOBS = availableParallelism();

export const runFlagsHelp = (engines: EngineRegistry, per: string) =>
  `  --engines a,b        engines to run (${defaultEnginesHelp(engines)})
  --trials N           timed trials per engine${per} (default ${DEFAULT_TRIALS})
  --timeout SECONDS    limit per run, count runs too: killed past it (default ${DEFAULT_TIMEOUT_SECONDS})
  --counts             after the timed runs, count each engine's job${per} once under valgrind
                       (callgrind, fixed cache sizes, V8 made deterministic): instructions, cache
                       misses and estimated cycles, for the whole process and the training steps alone
  --count-steps N      the count job's steps (default ${DEFAULT_COUNT_STEPS}, or the job's if fewer): under
                       valgrind a step takes about 50x as long
  --count-skip N       steps an engine runs before the counted ones (default 0: steps 1 to N are counted,
                       warm-up and recordings included); --count-skip 100 --count-steps 200 counts steps
                       101-300, the steady state. An external program, counted whole, runs all N + skip steps
  --count-jobs N       count runs at once (default ${DEFAULT_COUNT_JOBS}, one per core): load changes no count`;

export function runFlags(values: FlagValues<typeof RUN_FLAGS>, registry: EngineRegistry) {
  return {
    engines: enginesFlag(registry, values.engines),
    trials: intFlag('trials', values.trials, DEFAULT_TRIALS),
    timeoutSeconds: timeoutFlag(values.timeout, DEFAULT_TIMEOUT_SECONDS),
    countSteps: countStepsFlag(values),
    countSkip: intFlag('count-skip', values['count-skip'], 0, 0),
    countJobs: intFlag('count-jobs', values['count-jobs'], DEFAULT_COUNT_JOBS),
  };
}

/** --counts and --count-steps: the count job's steps, or null for no count pass. */
function countStepsFlag(values: FlagValues<typeof RUN_FLAGS>): number | null {
  const raw = values['count-steps'];
  if (values.counts !== true) {
    for (const flag of ['count-steps', 'count-skip', 'count-jobs'] as const)
      if (values[flag] !== undefined) throw new InputError(`--${flag} needs --counts`);
    return null;
  }
  const steps = intFlag('count-steps', raw, DEFAULT_COUNT_STEPS);
  if (valgrindVersion() === null)
    throw new InputError('--counts needs valgrind, which is not installed (Debian: apt-get install valgrind)');
  return steps;
}

/** --count-skip must leave a step to count in a job of `steps` steps. */
export function checkCountSkip(countSkip: number, steps: number): void {
  if (countSkip >= steps)
    throw new InputError(`--count-skip ${countSkip} leaves no step to count: the job has ${steps} steps`);
}
