/**
 * The count run: the training job once under callgrind (deterministic, so one run is enough), its
 * first and last step marked so the training steps are counted apart from start-up and sampling.
 * The counts themselves are the record's (`counts`), read by the counting meter.
 */
import { getPriority } from 'node:os';
import { z } from 'zod';
import { train } from '../../train.ts';
import { defineKind } from '../job-kind.ts';
import { formatLoss } from '../../output/units.ts';

export interface CountsResult {
  readonly steps: number;
  readonly finalLoss: number;
}

const countsResult: z.ZodType<CountsResult> = z.object({ steps: z.number(), finalLoss: z.number() });

/** Calls uv_os_getpriority, before which callgrind dumps its counters (MARKER_FUNCTION). */
const mark = () => void getPriority();

/**
 * A full collection before the first step (the worker runs with --expose-gc): start-up's garbage,
 * which varies with the event loop's timing, would otherwise bring a major GC into the steps in one
 * run and not in another (seen: 7.4M instructions of 220M, in one run of two).
 */
const collect = () => (globalThis as { gc?: () => void }).gc?.();

export default defineKind<CountsResult>({
  name: 'counts',
  runLabel: 'count run',
  module: import.meta.url,
  result: countsResult,
  rounds: () => ({ warmup: 0, trials: 1 }),
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
    return { steps: result.losses.length, finalLoss: result.finalLoss };
  },
  describe: (r) => `${r.steps} steps counted, loss ${formatLoss(r.finalLoss)}`,
});
