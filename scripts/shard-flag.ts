/**
 * `--shard i/n`, and `--shard auto` (or `auto/n`), which takes the index, and the count where the
 * scheduler gives one, from a job array's variables: Slurm's SLURM_ARRAY_TASK_ID, _MIN and _COUNT
 * (`sbatch --array=0-3`), Kubernetes' JOB_COMPLETION_INDEX (an Indexed Job, 0-based; the count is
 * the Job's `completions`, which the pod is not told, so it is given as `auto/n`).
 */
import { InputError } from '../engines/input-error.ts';

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

const ARRAY_VARIABLES =
  'SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT, ' +
  'or JOB_COMPLETION_INDEX with --shard auto/N';

const MAX_SHARDS = 1_000_000;

export function shardFlag(raw: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const fail = (why: string): never => {
    throw new InputError(`--shard ${raw}: ${why}`);
  };
  const auto = /^auto(?:\/(\d+))?$/.exec(raw);
  const given = /^(\d+)\/(\d+)$/.exec(raw);
  if (!auto && !given) fail('expected i/n with 1 ≤ i ≤ n (e.g. 1/2), auto, or auto/n');
  const shard = auto ? fromEnvironment(env, auto[1] === undefined ? null : Number(auto[1]), fail) : null;
  const [index, count] = shard ? [shard.index, shard.count] : [Number(given![1]), Number(given![2])];
  // Digits alone can spell 1e23, past where whole numbers are exact; no sweep has a million tasks.
  if (!Number.isSafeInteger(count) || count > MAX_SHARDS)
    fail(`${shard ? 'the environment gives' : 'expected'} a shard count from 1 to ${MAX_SHARDS}, got ${count}`);
  if (!(index >= 1 && index <= count))
    fail(shard ? `the environment gives shard ${index} of ${count}` : 'expected i/n with 1 ≤ i ≤ n, e.g. 1/2');
  return { index, count };
}

function fromEnvironment(env: NodeJS.ProcessEnv, count: number | null, fail: (why: string) => never): Shard {
  const whole = (name: string) => {
    const v = env[name];
    if (v === undefined || v === '') return null;
    if (!/^\d+$/.test(v)) fail(`${name}=${v} is not a whole number`);
    return Number(v);
  };
  const slurm = whole('SLURM_ARRAY_TASK_ID');
  if (slurm !== null) {
    const min = whole('SLURM_ARRAY_TASK_MIN');
    const total = count ?? whole('SLURM_ARRAY_TASK_COUNT');
    if (min === null || total === null) fail('Slurm set SLURM_ARRAY_TASK_ID but not SLURM_ARRAY_TASK_MIN and _COUNT');
    return { index: slurm - min! + 1, count: total! };
  }
  const k8s = whole('JOB_COMPLETION_INDEX');
  if (k8s !== null) {
    if (count === null) fail('JOB_COMPLETION_INDEX gives the index only: say the count, --shard auto/N');
    return { index: k8s + 1, count: count! };
  }
  return fail(`no job-array index in the environment (${ARRAY_VARIABLES})`);
}
