/** Schemas shared by the job kinds' results and env.json: each checked against its TypeScript type. */
import { z } from 'zod';
import type { TrainConfig } from '../../workload/config.ts';
import type { CacheCounts, ProcessCounts } from './counts/callgrind.ts';
import type { FunctionProfile } from './counts/functions.ts';

/** In the order runs.jsonl and env.json hold it (configFromFlags' order), which parsing keeps. */
const configObject = z.object({
  steps: z.number(),
  seed: z.number(),
  nLayer: z.number(),
  nEmbd: z.number(),
  blockSize: z.number(),
  nHead: z.number(),
  learningRate: z.number(),
  beta1: z.number(),
  beta2: z.number(),
  epsAdam: z.number(),
  initStd: z.number(),
  rmsEps: z.number(),
  temperature: z.number(),
  samples: z.number(),
});
export const configSchema: z.ZodType<TrainConfig> = configObject;
/** Some of the hyperparameters, and no unknown key. */
export const partialConfigSchema: z.ZodType<Partial<TrainConfig>> = configObject.partial().strict();

export const datasetSchema = z.object({ source: z.string(), docs: z.number(), sha256: z.string() });

/** A figure that may be infinite: JSON writes Infinity as null, so null reads back as Infinity. */
export const unbounded = z.union([z.number(), z.null().transform(() => Infinity)]);

/** The first problem zod found, in one line: "result.timingMs.total: expected number, received string". */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`;
}

/** Counted events: finite (zod's numbers are), never negative; a process runs at least one instruction. */
const events = z.number().nonnegative();
const cacheCounts: z.ZodType<CacheCounts> = z.object({
  instructions: z.number().positive(),
  dataReads: events,
  dataWrites: events,
  l1Misses: events,
  llMisses: events,
  estimatedCycles: z.number().positive(),
});
const functionCost = z.object({ instructions: z.number(), estimatedCycles: z.number() });
const functionProfile: z.ZodType<FunctionProfile> = z.object({
  functions: z.array(
    functionCost.extend({
      name: z.string(),
      group: z.string(),
      tiers: z.record(z.string(), functionCost).optional(),
      location: z.string().optional(),
    }),
  ),
  total: functionCost,
  unattributed: functionCost,
  contested: functionCost,
});
export const processCountsSchema: z.ZodType<ProcessCounts> = z.object({
  whole: cacheCounts,
  training: cacheCounts.nullable(),
  processes: z.number().int().positive(),
  // Folders counted before per-function counts have none.
  functions: functionProfile.nullable().optional(),
});
