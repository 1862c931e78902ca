/** The training job, timed: microgpt.py's training loop and its samples on one engine. */
import { z } from 'zod';
import type { TrainResult } from '../../train.ts';
import { defineKind, type RunRecord } from '../job-kind.ts';
import { formatLoss, formatSeconds } from '../../output/units.ts';
import { configSchema, datasetSchema } from '../schemas.ts';
import trainRun from './train-run.ts';

const meanMax = z.object({ mean: z.number(), max: z.number() });
const nullableNumber = z.number().nullable();

const trainResult: z.ZodType<TrainResult> = z.object({
  engine: z.string(),
  config: configSchema,
  seed: z.number(),
  dataset: datasetSchema,
  vocabSize: z.number(),
  numParams: z.number(),
  losses: z.array(z.number()),
  finalLoss: z.number(),
  meanLossLast100: z.number(),
  samples: z.array(z.string()),
  nodesPerStep: meanMax,
  edgesPerStep: meanMax,
  vectorOpsPerStep: nullableNumber,
  flopsPerStep: nullableNumber,
  gflops: nullableNumber,
  timingMs: z.object({
    total: z.number(),
    forward: nullableNumber,
    softmax: nullableNumber,
    backward: nullableNumber,
    update: nullableNumber,
  }),
  msPerStep: z.number(),
  // Results written before engines could differentiate a function are all tape engines'.
  autograd: z.enum(['tape', 'function']).default('tape'),
  memory: z.object({ peakRssBytes: z.number(), peakHeapBytes: z.number() }),
});

const ok = (r: RunRecord<TrainResult>) => (r.status === 'ok' ? r.result : undefined);

export default defineKind<TrainResult>({
  name: 'train',
  runLabel: 'trial',
  module: new URL('./train-run.ts', import.meta.url).href,
  result: trainResult,
  rounds: (plan) => plan,
  run: trainRun.run,
  describe: (r) => `${formatSeconds(r.timingMs.total)} training, loss ${formatLoss(r.finalLoss)}`,
  csv: {
    file: 'runs.csv',
    columns: {
      engine: (r) => r.engine,
      trial: (r) => r.trial,
      warmup: (r) => r.warmup,
      status: (r) => r.status,
      reason: (r) => (r.status === 'ok' ? undefined : r.reason),
      diverged_at_step: (r) => (r.status === 'diverged' ? r.divergedAtStep : undefined),
      wall_ms: (r) => r.wallMs,
      startup_ms: (r) => r.startupMs,
      user_ms: (r) => r.userMs,
      system_ms: (r) => r.systemMs,
      max_rss_bytes: (r) => r.maxRssBytes,
      steps: (r) => ok(r)?.losses.length,
      total_ms: (r) => ok(r)?.timingMs.total,
      forward_ms: (r) => ok(r)?.timingMs.forward,
      softmax_ms: (r) => ok(r)?.timingMs.softmax,
      backward_ms: (r) => ok(r)?.timingMs.backward,
      update_ms: (r) => ok(r)?.timingMs.update,
      ms_per_step: (r) => ok(r)?.msPerStep,
      final_loss: (r) => ok(r)?.finalLoss,
      mean_loss_last100: (r) => ok(r)?.meanLossLast100,
      nodes_per_step_mean: (r) => ok(r)?.nodesPerStep.mean,
      nodes_per_step_max: (r) => ok(r)?.nodesPerStep.max,
      edges_per_step_mean: (r) => ok(r)?.edgesPerStep.mean,
      edges_per_step_max: (r) => ok(r)?.edgesPerStep.max,
      peak_rss_bytes: (r) => ok(r)?.memory.peakRssBytes,
      peak_heap_bytes: (r) => ok(r)?.memory.peakHeapBytes,
      gflops: (r) => ok(r)?.gflops,
    },
  },
});
