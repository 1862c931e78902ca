/**
 * The reference trajectory of a job: the losses and samples an external program's printed output is
 * checked against, at hand whether or not topo is in the bench. It comes from `STAND_IN`, an engine
 * whose losses are microgpt.py's to 1e-12 over the 1000-step job (test/tensor.test.ts), topo's over
 * its first 100 steps and whose step lines are microgpt.py's (test/reference-job.test.ts), in about
 * a second where topo takes 30–45 s. Computed once per job (reference-run.ts) and kept in a cache by the job's
 * hash; the results folder holds its own copy (reference.json), so a report needs neither.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { TrainConfig } from '../../workload/config.ts';
import { configSchema } from './schemas.ts';

export const STAND_IN = 'tensor';
export const REFERENCE_FILE = 'reference.json';
/**
 * The stand-in's losses are within 1e-12 of topo's, so rounded to 6 decimals they differ from topo's
 * only for a loss within 1e-12 of a rounding boundary, a chance of about 1e-6 a step; a program that
 * prints more is compared at 6 (topo in --engines compares at every printed digit).
 */
export const STAND_IN_DECIMALS = 6;

/** What an external's output is checked against, and the phrase the verdict names it by. */
export interface Reference {
  readonly against: string;
  readonly losses: readonly number[];
  readonly samples: readonly string[];
  /** The printed decimals it can settle: Infinity for topo's own run. */
  readonly decimals: number;
  /** Per step, the spread float32 rounding alone gives the losses (scenarios/precision.ts); null if not measured. */
  readonly float32Spread: readonly number[] | null;
  /** The job's vocabulary size, for float32's bound (null if not recorded). */
  readonly vocabSize: number | null;
}

const fileSchema = z.object({
  job: z.string(),
  engine: z.string(),
  config: configSchema,
  losses: z.array(z.number()),
  samples: z.array(z.string()),
  float32Spread: z.array(z.number()).optional(),
  vocabSize: z.number().optional(),
});
export type ReferenceFile = z.infer<typeof fileSchema>;

/** The job's identity: the dataset's bytes and every hyperparameter, seed and step count included. */
export function jobHash(datasetSha256: string, config: TrainConfig): string {
  return createHash('sha256')
    .update(JSON.stringify([datasetSha256, config]))
    .digest('hex')
    .slice(0, 16);
}

/** A reference file of this job, or null for one unreadable or of another job (it is then recomputed). */
export function parseReference(text: string, hash: string): ReferenceFile | null {
  try {
    const parsed = fileSchema.safeParse(JSON.parse(text));
    return parsed.success && parsed.data.job === hash ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The results folder's reference, when bench:all left one for this folder's job. */
export function readReference(dir: string, datasetSha256: string, config: TrainConfig): Reference | null {
  const path = join(dir, REFERENCE_FILE);
  if (!existsSync(path)) return null;
  const file = parseReference(readFileSync(path, 'utf8'), jobHash(datasetSha256, config));
  if (!file) return null;
  return {
    against: `${file.engine}, topo's stand-in`,
    losses: file.losses,
    samples: file.samples,
    decimals: STAND_IN_DECIMALS,
    float32Spread: file.float32Spread ?? null,
    vocabSize: file.vocabSize ?? null,
  };
}
