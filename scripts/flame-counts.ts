/**
 * `npm run flame -- --counts`: the engine's training steps counted once under callgrind (as bench:all
 * --counts counts them), drawn per function as an icicle page instead of 0x's sampled flame graph.
 */
import { join, resolve } from 'node:path';
import type { EngineInfo } from '../engines/registry.ts';
import { countJob, valgrindVersion } from '../scenarios/bench/counts/callgrind.ts';
import { countProfile } from '../scenarios/bench/counts/profile-run.ts';
import { writeFileAtomic } from '../scenarios/files.ts';
import { functionPage } from '../scenarios/output/export/function-page.ts';
import { InputError } from '../engines/input-error.ts';
import type { TrainConfig } from '../workload/config.ts';
import { CommandError, ENGINES_MODULE_VAR, intFlag } from './cli.ts';
import { makeDirs } from '../scenarios/files.ts';
import { timestamp } from './paths.ts';
import { DEFAULT_COUNT_STEPS, DEFAULT_TIMEOUT_SECONDS } from './run-flags.ts';

export interface CountFlameJob {
  readonly engine: EngineInfo;
  readonly config: TrainConfig;
  readonly dataPath: string | null;
  readonly outDir: string;
  /** --count-steps as given. */
  readonly countSteps: string | undefined;
}

/** Checks the count flags before anything runs: bad input is one line and exit 2. */
export function countStepsOf(raw: string | undefined): number {
  const steps = intFlag('count-steps', raw, DEFAULT_COUNT_STEPS);
  if (valgrindVersion() === null) {
    throw new InputError('--counts needs valgrind, which is not installed (Debian: apt-get install valgrind)');
  }
  return steps;
}

/** Counts the job and writes `<outDir>/<engine>/<timestamp>/counts.html`; prints its path last. */
export async function flameFromCounts(job: CountFlameJob): Promise<void> {
  const config = countJob(job.config, countStepsOf(job.countSteps));
  const runDir = join(job.outDir, job.engine.name, timestamp());
  process.stderr.write(`counting ${config.steps} steps of ${job.engine.name} under callgrind (about 50x slower)\n`);
  const out = await countProfile({
    engine: job.engine.name,
    config,
    dataPath: job.dataPath === null ? null : resolve(job.dataPath),
    enginesModule: process.env[ENGINES_MODULE_VAR] || null,
    timeoutMs: DEFAULT_TIMEOUT_SECONDS * 1000,
  });
  if ('fault' in out) throw new CommandError(`the count run of ${job.engine.name} failed: ${out.fault}`);
  const jobText =
    `${config.steps} training steps counted, seed ${config.seed}, ` +
    `${config.nLayer} layer(s), n_embd ${config.nEmbd}`;
  makeDirs(runDir);
  const file = join(runDir, 'counts.html');
  writeFileAtomic(file, await functionPage(job.engine.name, out.profile, out.steps, jobText));
  process.stdout.write(`${file}\n`);
}
