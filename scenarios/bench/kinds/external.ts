/** A run of an external program: its whole process timed, its printed losses and samples read back. */
import { z } from 'zod';
import { formatLoss, formatSeconds } from '../../output/units.ts';
import type { ExternalOutput } from '../external/output.ts';
import type { RunKind, RunRecord } from '../job-kind.ts';

export type ExternalResult = ExternalOutput & {
  /** The argv that ran, placeholders filled in. */
  readonly command: string[];
};

const externalResult: z.ZodType<ExternalResult> = z.object({
  command: z.array(z.string()),
  losses: z.array(z.object({ step: z.number(), loss: z.string() })),
  printedSteps: z.number().nullable(),
  samples: z.array(z.string()),
  trainingMs: z.number().nullable(),
});

const ok = (r: RunRecord<ExternalResult>) => (r.status === 'ok' ? r.result : undefined);

const kind: RunKind<ExternalResult> = {
  name: 'external',
  runLabel: 'trial',
  result: externalResult,
  // Timed as the engines are, round for round.
  rounds: (plan) => plan,
  describe: (r) => {
    const last = r.losses.at(-1);
    const time = r.trainingMs === null ? '' : `${formatSeconds(r.trainingMs)} training, `;
    return last ? `${time}loss ${formatLoss(Number(last.loss))} at step ${last.step}` : `${time}no loss lines`;
  },
  csv: {
    file: 'external-runs.csv',
    columns: {
      program: (r) => r.engine,
      trial: (r) => r.trial,
      warmup: (r) => r.warmup,
      status: (r) => r.status,
      reason: (r) => (r.status === 'ok' ? undefined : r.reason),
      wall_ms: (r) => r.wallMs,
      user_ms: (r) => r.userMs,
      system_ms: (r) => r.systemMs,
      max_rss_bytes: (r) => r.maxRssBytes,
      training_ms: (r) => ok(r)?.trainingMs,
      loss_lines: (r) => ok(r)?.losses.length,
      printed_steps: (r) => ok(r)?.printedSteps,
      last_step: (r) => ok(r)?.losses.at(-1)?.step,
      last_loss: (r) => ok(r)?.losses.at(-1)?.loss,
      samples: (r) => ok(r)?.samples.length,
      command: (r) => ok(r)?.command.join(' '),
      lingering: (r) => r.lingering?.join('; '),
    },
  },
};
export default kind;
