/** The count run's run, apart from its schema: what a worker loads to count a job (kinds/counts.ts). */
import { startEngine } from '../../../engines/registry.ts';
import { getPriority } from 'node:os';
import { train } from '../../train.ts';
import { defineRun } from '../job-kind.ts';
import { perfMapSize, savePerfMarks, writesPerfMap } from '../counts/perf-map.ts';

/** What a count run returns (the counts are the meter's, not the run's). */
export interface CountsResult {
  /** The steps counted, after the `skipped` ones the run made first (absent in older folders: 0). */
  readonly steps: number;
  readonly skipped?: number;
  readonly finalLoss: number;
}

/**
 * Calls uv_os_getpriority, before which callgrind dumps its counters (MARKER_FUNCTION), noting first
 * how far V8's perf map had got, to tell code made in the steps from code made before or after them.
 */
const perfMarks: number[] = [];
const mark = () => {
  if (writesPerfMap()) perfMarks.push(perfMapSize());
  getPriority();
};

/**
 * A full collection before the first step (the worker runs with --expose-gc): start-up's garbage,
 * which varies with the event loop's timing, would otherwise bring a major GC into the steps in one
 * run and not in another (seen: 7.4M instructions of 220M, in one run of two).
 */
const collect = () => (globalThis as { gc?: () => void }).gc?.();

/**
 * Marks the counted steps: the first mark after step `skip` (before step 1 when 0), the second after
 * the job's last step, with a full collection before the first, whenever it comes.
 */
export function countMarks(skip: number, steps: number, mark: () => void) {
  const open = () => {
    collect();
    mark();
  };
  return {
    onStart: () => skip === 0 && open(),
    onStep: (step: number) => {
      if (skip > 0 && step === skip) open();
      if (step === steps) mark();
    },
  };
}

export default defineRun<CountsResult>({
  run: async ({ engine, dataset, config, countSkip = 0 }, progress) => {
    const marks = countMarks(countSkip, config.steps, mark);
    const result = train({
      engineName: engine.name,
      engine: await startEngine(engine),
      // No samples: they come after the last mark, and would only add to the whole process's count
      // (with the default 20, as much as 5 steps of tape and their compilation: 511M instructions).
      config: { ...config, samples: 0 },
      dataset,
      // Timers read the clock and would only add work to count.
      phaseTimers: false,
      onStart: () => {
        progress.start(config.steps);
        marks.onStart();
      },
      onStep: (step, loss) => {
        progress.step(step, loss);
        marks.onStep(step);
      },
    });
    if (perfMarks.length === 2) savePerfMarks(perfMarks);
    return { steps: result.losses.length - countSkip, skipped: countSkip, finalLoss: result.finalLoss };
  },
});
