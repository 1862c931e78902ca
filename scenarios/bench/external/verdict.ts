/**
 * Whether an external program computed what the reference engine computes on the same job: its
 * printed losses against the reference's at the precision it printed them, and its samples. An
 * external has no gradients to check; this is what stands in their place.
 */
import type { TrainConfig } from '../../../workload/config.ts';
import type { ExternalResult } from '../kinds/external.ts';
import type { Reference } from '../reference.ts';
import type { FixedJob } from './spec.ts';
import type { Precision } from '../../../engines/registry.ts';
import { accumulationLength, float32LossBound } from '../../precision.ts';

export interface ExternalVerdict {
  /** The printed losses (and samples, if printed) equal the reference's. */
  readonly reproduces: boolean;
  readonly text: string;
}

const verdict = (reproduces: boolean, text: string): ExternalVerdict => ({ reproduces, text });

export function externalVerdict(
  run: ExternalResult,
  job: { config: TrainConfig; fixedJob: FixedJob; precision?: Precision },
  reference: Reference | null,
): ExternalVerdict {
  const { losses } = run;
  if (losses.length === 0) return verdict(false, 'no loss lines found');
  const steps = job.config.steps;
  const fixed = fixedJobDifference(job.fixedJob, job.config);
  if (fixed) return verdict(false, `not comparable: different job (${fixed})`);
  if (run.printedSteps !== null && run.printedSteps !== steps)
    return verdict(false, `not comparable: different job (it printed ${run.printedSteps} steps, the job has ${steps})`);
  const beyond = losses.find((l) => l.step < 1 || l.step > steps);
  if (beyond) return verdict(false, `not comparable: different job (it printed step ${beyond.step} of ${steps})`);
  if (!reference) return verdict(false, 'not checked: no reference for this job (its reference run diverged)');
  if (job.precision === 'float32') return float32Verdict(losses, job.config, reference);
  const against = `against ${reference.against}`;
  let decimals = Infinity;
  for (const { step, loss } of losses) {
    // "nan" or "inf" printed: shown against the reference at microgpt.py's 4 decimals.
    const d = Math.min(Number.isFinite(Number(loss)) ? decimalsOf(loss) : 4, reference.decimals);
    decimals = Math.min(decimals, d);
    const expected = reference.losses[step - 1];
    // Rounded as the program rounded its own: equal when the reference prints the same at that precision.
    const [shown, printed] = Number.isFinite(d)
      ? [expected.toFixed(d), decimalsOf(loss) > d ? Number(loss).toFixed(d) : loss]
      : [String(expected), loss];
    if (Number(shown) !== Number(printed))
      return verdict(false, `differs from step ${step} (printed ${loss}, reference ${shown}; ${against})`);
  }
  // Exiting 0 before the job's last step reproduces nothing past it: a program printing only some
  // steps must print the last one too.
  const last = losses.reduce((max, l) => Math.max(max, l.step), 0);
  if (last < steps) return verdict(false, `incomplete (its last loss line is step ${last} of ${steps})`);
  const n = losses.length;
  const precision = Number.isFinite(decimals) ? `${decimals} decimals` : 'full precision';
  const equal = `${n}/${n} printed steps equal to ${precision}`;
  const checked = (what: string) => `${what}; ${against}`;
  if (run.samples.length === 0)
    return verdict(true, `reproduces the reference (${checked(`${equal}, no samples printed`)})`);
  const differing = run.samples.findIndex((s, i) => s !== reference.samples[i]);
  if (differing < 0 && run.samples.length === reference.samples.length)
    return verdict(true, `reproduces the reference (${checked(`${equal}, samples identical`)})`);
  const where =
    differing < 0
      ? `printed ${run.samples.length} samples, reference ${reference.samples.length}`
      : `sample ${differing + 1}: printed '${run.samples[differing]}', ` +
        `reference '${reference.samples[differing] ?? ''}'`;
  return verdict(false, `reproduces the reference's losses (${equal}) but not its samples (${checked(where)})`);
}

/**
 * A float32 program's losses: each printed loss within float32 rounding's bound of the reference's
 * (scenarios/precision.ts) plus half a unit of its last printed digit. Its samples are not compared:
 * float32 probabilities can draw another character where the reference's fall near a boundary.
 */
function float32Verdict(losses: ExternalResult['losses'], config: TrainConfig, reference: Reference): ExternalVerdict {
  const against = `against ${reference.against}`;
  const n = accumulationLength(config, reference.vocabSize ?? 0);
  const spread = reference.float32Spread ?? [];
  for (const { step, loss } of losses) {
    const expected = reference.losses[step - 1];
    const printedUnit = Number.isFinite(decimalsOf(loss)) ? 0.5 * 10 ** -decimalsOf(loss) : 0;
    const bound = float32LossBound(expected, step - 1, spread, n) + printedUnit;
    if (!(Math.abs(Number(loss) - expected) <= bound))
      return verdict(
        false,
        `differs from step ${step} beyond float32 rounding (printed ${loss}, reference ${expected}, ` +
          `bound ${bound.toExponential(1)}; ${against})`,
      );
  }
  const n2 = losses.length;
  return verdict(
    true,
    `reproduces the reference within float32 rounding (${n2}/${n2} printed steps; samples not compared; ${against})`,
  );
}

/** How a program's own job differs from the bench's, or null when it runs the same one. */
function fixedJobDifference(fixedJob: FixedJob, config: TrainConfig): string | null {
  if (fixedJob === true) return 'declared fixedJob: it ignores the job given';
  if (fixedJob === false) return null;
  const key = (Object.keys(fixedJob) as (keyof TrainConfig)[]).find((k) => fixedJob[k] !== config[k]);
  return key ? `it always runs ${key} ${fixedJob[key]}, this job has ${config[key]}` : null;
}

/** Digits after the decimal point of a printed number; Infinity for one in exponent notation (compared exactly). */
function decimalsOf(text: string): number {
  if (/e/i.test(text)) return Infinity;
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}
