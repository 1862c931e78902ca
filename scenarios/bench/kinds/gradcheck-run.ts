/** The gradient check kind's run, apart from its schemas: what a worker loads (kinds/gradcheck.ts). */
import type { GradcheckResult } from '../../gradcheck.ts';
import { defineRun } from '../job-kind.ts';

export default defineRun<GradcheckResult>({
  run: async (input) => {
    // Loaded only here, so a training run's process holds nothing but the job and its engine.
    const { gradcheck } = await import('../../gradcheck.ts');
    return gradcheck(input);
  },
});
