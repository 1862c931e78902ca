/**
 * One engine's count run on its own, for a per-function profile (`npm run flame -- --counts`): the
 * same count job, worker, flags and callgrind options as bench:all's count pass.
 */
import type { TrainConfig } from '../../../workload/config.ts';
import { countsKind } from '../kinds/index.ts';
import { workerFor } from '../worker-build.ts';
import type { FunctionProfile } from './functions.ts';
import { countExecutor } from './executor.ts';

export interface CountProfileJob {
  readonly engine: string;
  /** The count job (the job with the count steps). */
  readonly config: TrainConfig;
  readonly dataPath: string | null;
  readonly enginesModule: string | null;
  readonly timeoutMs: number;
}

/** The training steps' profile, or why there is none. */
export async function countProfile(
  job: CountProfileJob,
): Promise<{ profile: FunctionProfile; steps: number } | { fault: string }> {
  const worker = await workerFor();
  const counter = countExecutor(
    {
      dataPath: job.dataPath,
      config: job.config,
      enginesModule: job.enginesModule,
      countSkip: 0,
      externals: [],
      externalDataPath: '',
    },
    worker,
  );
  try {
    const out = await counter.execute(
      { kind: countsKind, engine: job.engine, trial: 1, warmup: false },
      { timeoutMs: job.timeoutMs },
    );
    if (out.status === 'interrupted') return { fault: 'interrupted' };
    if (out.status !== 'ok') return { fault: out.reason };
    const profile = out.counts?.functions;
    if (!out.counts?.training || !profile) return { fault: 'the count run recorded no training steps' };
    return { profile, steps: job.config.steps };
  } finally {
    counter.dispose();
  }
}
