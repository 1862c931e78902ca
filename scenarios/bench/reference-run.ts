/** The job's reference trajectory computed on the stand-in, once per job: a cache by the job's hash. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBuiltIn } from '../../engines/registry.ts';
import type { TrainConfig } from '../../workload/config.ts';
import type { Dataset } from '../../workload/dataset.ts';
import { writeFileAtomic } from '../files.ts';
import { float32Spread } from '../precision.ts';
import { DivergedError, train } from '../train.ts';
import { jobHash, parseReference, REFERENCE_FILE, STAND_IN, type ReferenceFile } from './reference.ts';

/**
 * The job's reference from `cacheDir` (computing and caching it on a miss), copied into the results
 * folder `outDir`. A run that diverges leaves no reference: the verdicts then say the job has none.
 */
export function prepareReference(job: { config: TrainConfig; dataset: Dataset }, cacheDir: string, outDir: string) {
  const hash = jobHash(job.dataset.sha256, job.config);
  const cached = join(cacheDir, `${hash}.json`);
  let file = existsSync(cached) ? parseReference(readFileSync(cached, 'utf8'), hash) : null;
  if (!file) {
    file = computeReference(job, hash);
    try {
      if (file) writeFileAtomic(cached, JSON.stringify(file) + '\n');
    } catch {
      // A cache that cannot be written costs the next bench of this job a second of recomputing.
    }
  }
  if (file) writeFileAtomic(join(outDir, REFERENCE_FILE), JSON.stringify(file) + '\n');
}

function computeReference(job: { config: TrainConfig; dataset: Dataset }, hash: string): ReferenceFile | null {
  try {
    const engine = createBuiltIn(STAND_IN);
    const r = train({ engineName: STAND_IN, engine, ...job, phaseTimers: false, graphStats: false });
    // What float32 rounding alone does to the job's losses, for a float32 program's verdict.
    const float32 = float32Spread(job.config, job.dataset, job.config.steps);
    const { losses, samples, vocabSize } = r;
    return { job: hash, engine: STAND_IN, config: job.config, losses, samples, float32Spread: float32, vocabSize };
  } catch (err) {
    if (err instanceof DivergedError) return null;
    throw err;
  }
}
