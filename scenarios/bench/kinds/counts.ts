/**
 * The count run: the training job once under callgrind (deterministic, so one run is enough), its
 * first and last step marked so the training steps are counted apart from start-up and sampling.
 * The counts themselves are the record's (`counts`), read by the counting meter.
 */
import { z } from 'zod';
import { defineKind } from '../job-kind.ts';
import { formatLoss } from '../../output/units.ts';
import countsRun, { type CountsResult } from './counts-run.ts';

const countsResult: z.ZodType<CountsResult> = z.object({
  steps: z.number().int().positive(),
  skipped: z.number().optional(),
  finalLoss: z.number(),
});

export default defineKind<CountsResult>({
  name: 'counts',
  runLabel: 'count run',
  module: new URL('./counts-run.ts', import.meta.url).href,
  result: countsResult,
  rounds: () => ({ warmup: 0, trials: 1 }),
  run: countsRun.run,
  describe: (r) => `${r.steps} steps counted${r.skipped ? ` after ${r.skipped}` : ''}, loss ${formatLoss(r.finalLoss)}`,
});
