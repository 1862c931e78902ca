/**
 * The count pass's executor: engines' count runs in their worker and external programs' count runs,
 * each under callgrind through the counting meter. A run that ends well but leaves no counts
 * (callgrind could not start it, say) is a failed row, as any fault of a run is.
 */
import type { TrainConfig } from '../../../workload/config.ts';
import { externalExecutor } from '../external/executor.ts';
import type { ExternalSpec } from '../external/spec.ts';
import { externalCountsKind, type AnyKind } from '../kinds/index.ts';
import { processExecutor, type JobSetup } from '../process-executor.ts';
import type { Executor } from '../scheduler.ts';
import type { WorkerBuild } from '../worker-build.ts';
import { countingMeter } from './meter.ts';

export interface CountSetup extends Omit<JobSetup, 'counted'> {
  /** The count job: the timed job with fewer steps. */
  readonly config: TrainConfig;
  /** The count job's steps an engine runs before the counted ones (an external program is counted whole). */
  readonly countSkip: number;
  readonly externals: readonly ExternalSpec[];
  /** The dataset file an external's {data} names. */
  readonly externalDataPath: string;
}

export function countExecutor(s: CountSetup, worker: WorkerBuild | null): { execute: Executor; dispose(): void } {
  const meter = countingMeter();
  // Only the job goes to the worker (in its argv): the setup may hold the whole dataset.
  const job = {
    dataPath: s.dataPath,
    config: s.config,
    enginesModule: s.enginesModule,
    pluginEngines: s.pluginEngines,
    counted: true,
    countSkip: s.countSkip,
  };
  const inWorker = processExecutor(job, { worker, meter });
  const external = externalExecutor({
    specs: s.externals,
    job: { config: s.config, dataPath: s.externalDataPath },
    meter,
  });
  const execute: Executor = async (task, opts) => {
    const run = (task.kind as AnyKind) === externalCountsKind ? external : inWorker;
    const outcome = await run(task, opts);
    if (outcome.status !== 'ok' || outcome.counts) return outcome;
    return { ...outcome, status: 'failed', reason: 'callgrind wrote no counts' };
  };
  return { execute, dispose: () => meter.dispose() };
}
