/** bench:sweep's grid: `--vary KEY=V1,V2,…` axes, their cartesian product, each point a checked job. */
import type { TrainConfig } from '../workload/config.ts';
import { pointLabel, type Axis as SweepAxis } from '../scenarios/sweep/points.ts';
import { InputError } from '../engines/input-error.ts';
import { configFromFlags, JOB_FLAGS } from './job-flags.ts';

/** Any job flag but the dataset can vary. */
export const VARY_KEYS = Object.keys(JOB_FLAGS).filter((k) => k !== 'data') as VaryKey[];
export type VaryKey = Exclude<keyof typeof JOB_FLAGS, 'data'>;

export interface Axis extends SweepAxis {
  readonly key: VaryKey;
}

export interface SweepPoint {
  /** From 1, in grid order: the first axis outermost. */
  readonly index: number;
  readonly values: Readonly<Partial<Record<VaryKey, string>>>;
  readonly config: TrainConfig;
}

/** One `--vary KEY=V1,V2,…`. */
export function parseVary(raw: string): Axis {
  const eq = raw.indexOf('=');
  const fail = (why: string): never => {
    throw new InputError(`--vary ${raw}: ${why}`);
  };
  if (eq < 0) fail('expected KEY=V1,V2,… (e.g. n-embd=16,32)');
  const key = raw.slice(0, eq);
  if (!(VARY_KEYS as string[]).includes(key)) fail(`unknown key '${key}'; one of: ${VARY_KEYS.join(', ')}`);
  const values = raw.slice(eq + 1).split(',');
  if (values.some((v) => v.trim() === '')) fail('expected a comma-separated list of values, none empty');
  if (new Set(values).size < values.length) fail('a value is listed twice');
  // Smaller jobs first, so that --budget sees an engine's time before the larger points.
  return { key: key as VaryKey, values: values.sort((a, b) => Number(a) - Number(b)) };
}

/**
 * The cartesian product of the axes over the fixed job flags, every point's job checked as `train`
 * checks its flags: a value that is not valid, or a combination that is not (an n-head that does not
 * divide n-embd), is an InputError naming the point.
 */
export function sweepGrid(axes: readonly Axis[], fixed: Readonly<Record<string, string | boolean | undefined>>) {
  const keys = axes.map((a) => a.key);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup !== undefined) throw new InputError(`--vary ${dup} is given twice`);
  const clash = keys.find((k) => fixed[k] !== undefined);
  if (clash !== undefined) throw new InputError(`--${clash} is fixed and varied at once; give it in one place`);
  let combos: Partial<Record<VaryKey, string>>[] = [{}];
  for (const axis of axes) combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.key]: v })));
  return combos.map((values, i): SweepPoint => {
    try {
      return { index: i + 1, values, config: configFromFlags({ ...fixed, ...values }) };
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw new InputError(`--vary: at ${pointLabel(values)}: ${err.message}`);
    }
  });
}
