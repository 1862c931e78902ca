/** The gradient check: one engine's step-1 gradients and early losses against topo and finite differences. */
import { z } from 'zod';
import type { GradcheckResult } from '../../gradcheck.ts';
import { defineKind } from '../job-kind.ts';
import { unbounded } from '../schemas.ts';

const gradcheckResult: z.ZodType<GradcheckResult> = z.object({
  engine: z.string(),
  pass: z.boolean(),
  verdict: z.string(),
  maxAbsErr: unbounded,
  maxRelErr: unbounded,
  cosine: z.number(),
  wrongParams: z.number(),
  totalParams: z.number(),
  fdMaxRelErr: unbounded,
  fdSampled: z.number(),
  trajectory: z.object({ steps: z.number(), maxLossDiff: unbounded }),
});

export default defineKind<GradcheckResult>({
  name: 'gradcheck',
  runLabel: 'gradient check',
  module: import.meta.url,
  result: gradcheckResult,
  // One check per engine: the check is deterministic, and untimed.
  rounds: () => ({ warmup: 0, trials: 1 }),
  run: async (input) => {
    // Loaded only here, so a training run's process holds nothing but the job and its engine.
    const { gradcheck } = await import('../../gradcheck.ts');
    return gradcheck(input);
  },
  describe: (r) => r.verdict,
});
