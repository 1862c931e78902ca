/** The count run's run, apart from its schema: what a worker loads to count a job (kinds/counts.ts). */
import { getPriority } from 'node:os';
import { train } from '../../train.ts';
import { defineRun } from '../job-kind.ts';
import { perfMapSize, savePerfMarks, writesPerfMap } from '../counts/perf-map.ts';

/** What a count run returns (the counts are the meter's, not the run's). */
export interface CountsResult {
  readonly steps: number;
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

export default defineRun<CountsResult>({
  run: ({ engine, dataset, config }, progress) => {
    const result = train({
      engineName: engine.name,
      engine: engine.create(),
      config,
      dataset,
      // Timers read the clock and would only add work to count.
      phaseTimers: false,
      onStart: () => {
        progress.start(config.steps);
        collect();
        mark();
      },
      onStep: (step, loss) => {
        progress.step(step, loss);
        if (step === config.steps) mark();
      },
    });
    if (perfMarks.length === 2) savePerfMarks(perfMarks);
    return { steps: result.losses.length, finalLoss: result.finalLoss };
  },
});
