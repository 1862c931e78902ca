/**
 * A sweep folder as bench:sweep writes it: sweep.json (the grid, the shard, who sat out where) and a
 * results folder per point. Shards of one sweep, each a folder of its own, merge back into one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../engines/input-error.ts';
import { identityDifference } from '../bench/counts/identity.ts';
import { jobKey } from '../bench/jobs.ts';
import { readResultsFolder, type ResultsFolder } from '../bench/results.ts';
import { firstIssue } from '../bench/schemas.ts';
import type { Axis, Skips, SweepPointInfo } from './points.ts';

export const SWEEP_FILE = 'sweep.json';

const sweepFileSchema = z.strictObject({
  axes: z.array(z.strictObject({ key: z.string(), values: z.array(z.string()) })),
  points: z.array(
    z.strictObject({
      index: z.number().int(),
      values: z.record(z.string(), z.string()),
      dir: z.string(),
      params: z.number(),
      flopsPerStep: z.number(),
      skipped: z.record(z.string(), z.string()),
    }),
  ),
  engines: z.array(z.string()),
  trials: z.number().int(),
  check: z.boolean(),
  budgetSeconds: z.number().nullable(),
  /** This folder's part of the (point × engine × run) list, or null for the whole sweep. */
  shard: z.strictObject({ index: z.number().int(), count: z.number().int() }).nullable(),
  args: z.array(z.string()),
});
export type SweepFile = z.infer<typeof sweepFileSchema>;

export interface SweepFolder {
  readonly dir: string;
  readonly file: SweepFile;
  readonly points: readonly ResultsFolder[];
}

/** One sweep, whole again: what points.csv and the report are made of. */
export interface Sweep {
  readonly axes: readonly Axis[];
  readonly points: readonly SweepPointInfo[];
  readonly engines: readonly string[];
  readonly skips: Skips;
  readonly folders: readonly ResultsFolder[];
}

export const isSweepFolder = (dir: string) => existsSync(join(dir, SWEEP_FILE));

export function readSweepFolder(dir: string): SweepFolder {
  const path = join(dir, SWEEP_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InputError(`${path}: not a sweep's ${SWEEP_FILE} (${err instanceof Error ? err.message : err})`);
  }
  const parsed = sweepFileSchema.safeParse(raw);
  if (!parsed.success) throw new InputError(`${path}: ${firstIssue(parsed.error)}`);
  const file = parsed.data;
  return { dir, file, points: file.points.map((p) => readResultsFolder(join(dir, p.dir))) };
}

/** What must be equal for folders to be parts of one sweep. */
const gridKey = (f: SweepFolder) =>
  JSON.stringify([f.file.axes, f.file.points.map((p) => p.values), f.file.engines, f.file.trials, f.file.check]);

/** The shards (or the one whole sweep) as one sweep; an InputError for a missing, repeated or foreign part. */
export function mergeSweeps(parts: readonly SweepFolder[]): Sweep {
  const [first] = parts;
  for (const part of parts) {
    if (gridKey(part) !== gridKey(first))
      throw new InputError(`${part.dir}: not the same sweep as ${first.dir} (grid, engines, trials or --check differ)`);
    part.points.forEach((p, i) => {
      if (jobKey(p) !== jobKey(first.points[i]))
        throw new InputError(`${part.dir}: point ${i + 1} ran another job than in ${first.dir} (dataset or flags)`);
      // Counts made differently (another --count-steps, valgrind, or none) would be fitted as one
      // measure: refused rather than fitted on time, so no shard's counts are dropped unsaid.
      const counted = identityDifference(first.points[i].env.bench.counts, p.env.bench.counts);
      if (counted !== null)
        throw new InputError(
          `${part.dir}: point ${i + 1} was counted differently from ${first.dir} (${counted}); ` +
            'shards merge only with the same --counts and --count-steps',
        );
    });
  }
  checkShards(parts);
  return {
    axes: first.file.axes,
    engines: first.file.engines,
    points: first.file.points.map((p, i) => ({ ...p, config: first.points[i].env.config })),
    skips: Object.fromEntries(first.file.points.map((p) => [p.index, p.skipped])),
    folders: first.points.map((folder, i) => ({ ...folder, runs: parts.flatMap((part) => part.points[i].runs) })),
  };
}

/** Exactly the shards 1/n … n/n, each once; or a single whole sweep. */
function checkShards(parts: readonly SweepFolder[]): void {
  const whole = parts.find((p) => p.file.shard === null);
  if (whole && parts.length > 1) throw new InputError(`${whole.dir}: a whole sweep, not a shard: give it alone`);
  if (whole) return;
  const count = parts[0].file.shard!.count;
  const seen = new Map<number, string>();
  for (const part of parts) {
    const { index, count: n } = part.file.shard!;
    if (n !== count) throw new InputError(`${part.dir}: shard ${index}/${n}, but ${parts[0].dir} is one of ${count}`);
    if (seen.has(index))
      throw new InputError(`shard ${index}/${count} is given twice (${seen.get(index)} and ${part.dir})`);
    seen.set(index, part.dir);
  }
  for (let i = 1; i <= count; i++) if (!seen.has(i)) throw new InputError(`shard ${i}/${count} is missing`);
}
