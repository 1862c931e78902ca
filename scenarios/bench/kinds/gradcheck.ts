/** The gradient check: one engine's step-1 gradients and early losses against topo and finite differences. */
import { z } from 'zod';
import { PRECISIONS } from '../../../engines/registry.ts';
import type { GradcheckResult } from '../../gradcheck.ts';
import { defineKind } from '../job-kind.ts';
import { unbounded } from '../schemas.ts';
import gradcheckRun from './gradcheck-run.ts';

const gradcheckResult: z.ZodType<GradcheckResult> = z.object({
  engine: z.string(),
  pass: z.boolean(),
  verdict: z.string(),
  // Results written before precision was declared are float64 ones.
  precision: z.enum(PRECISIONS).default('float64'),
  gradientBound: z.number().nullable().default(null),
  maxAbsErr: unbounded,
  maxRelErr: unbounded,
  cosine: z.number(),
  wrongParams: z.number(),
  totalParams: z.number(),
  fdMaxRelErr: unbounded,
  fdSampled: z.number(),
  fdOn: z.enum(['engine', 'reference']).default('engine'),
  trajectory: z.object({
    steps: z.number(),
    maxLossDiff: unbounded,
    worstOfBound: z.number().nullable().default(null),
  }),
});

export default defineKind<GradcheckResult>({
  name: 'gradcheck',
  runLabel: 'gradient check',
  module: new URL('./gradcheck-run.ts', import.meta.url).href,
  result: gradcheckResult,
  // One check per engine: the check is deterministic, and untimed.
  rounds: () => ({ warmup: 0, trials: 1 }),
  run: gradcheckRun.run,
  describe: (r) => r.verdict,
});
