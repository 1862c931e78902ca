/** The count run's run, apart from its schema: what a worker loads to count a job (kinds/counts.ts). */
import { startEngine } from '../../../engines/registry.ts';
import { getPriority } from 'node:os';
import { train } from '../../train.ts';
import { defineRun } from '../job-kind.ts';

/** What a count run returns (the counts are the meter's, not the run's). */
export interface CountsResult {
  readonly steps: number;
  readonly finalLoss: number;
}

/** Calls uv_os_getpriority, before which callgrind dumps its counters (MARKER_FUNCTION). */
const mark = () => void getPriority();

/**
 * A full collection before the first step (the worker runs with --expose-gc): start-up's garbage,
 * which varies with the event loop's timing, would otherwise bring a major GC into the steps in one
 * run and not in another (seen: 7.4M instructions of 220M, in one run of two).
 */
const collect = () => (globalThis as { gc?: () => void }).gc?.();

export default defineRun<CountsResult>({
  run: async ({ engine, dataset, config }, progress) => {
    const result = train({
      engineName: engine.name,
      engine: await startEngine(engine),
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
    return { steps: result.losses.length, finalLoss: result.finalLoss };
  },
});
