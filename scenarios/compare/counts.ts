/**
 * compare on instruction counts: deterministic (two counts of one job agree to about 1e-7), so the
 * change needs no interval; beyond ±threshold it is slower or faster, within it no change. Counts
 * decide only like with like: equal count identities (the same count job and window, valgrind, options, V8
 * flags and measure; see counts/identity.ts), an engine's marked training steps found on both sides,
 * and possible figures on both sides. Otherwise there is no count verdict, and the reason is kept.
 */
import type { CountsSetup } from '../bench/env.ts';
import { countIdentity, identityDifference } from '../bench/counts/identity.ts';
import { countsRowOf, type CountsRow } from '../bench/counts/rows.ts';
import type { ResultsFolder } from '../bench/results.ts';
import { functionChanges, type FunctionChanges } from './functions.ts';

export interface CountsChange {
  /** Estimated cycles per step (what decides), and instructions per step, on each side. */
  readonly baseCyclesPerStep: number;
  readonly newCyclesPerStep: number;
  readonly baseInstructionsPerStep: number;
  readonly newInstructionsPerStep: number;
  /** NEW / BASE of the estimated cycles. */
  readonly ratio: number;
  readonly verdict: 'faster' | 'slower' | 'no change';
  /** Where the change went, function by function, when both count runs recorded their functions. */
  readonly functions: FunctionChanges | null;
}

/** An engine's counts on the two sides: a change, or why there is none. */
export type CountsOutcome =
  | { readonly change: CountsChange; readonly note: null; readonly unverified: false }
  | {
      readonly change: null;
      /** Why no count verdict ("no count run in NEW"), or null when neither folder counted. */
      readonly note: string | null;
      /**
       * Both folders counted alike, yet this engine's counts cannot be compared though at least one
       * side has them (missing, failed or of another measure on the other): nothing vouches that it
       * did not get slower, so a regression check must not pass.
       */
      readonly unverified: boolean;
    };

const none = (note: string | null, unverified = false): CountsOutcome => ({ change: null, note, unverified });

/** The engine's change in estimated cycles per step, or why there is none. */
export function countsChange(
  engine: string,
  base: ResultsFolder,
  next: ResultsFolder,
  threshold: number,
  kind: 'engine' | 'program',
): CountsOutcome {
  const [a, b] = [base.env.bench.counts, next.env.bench.counts];
  if (!a && !b) return none(null);
  if (!a || !b) return none(`counted in ${a ? 'BASE' : 'NEW'} only`);
  const made = identityDifference(a, b);
  if (made !== null) return none(`counted differently (${made})`);
  const rows = [countsRowOf(base, engine), countsRowOf(next, engine)];
  const problems = rows.map((row, i) => rowProblem(row, kind, i === 0 ? 'BASE' : 'NEW'));
  if (problems[0] !== null || problems[1] !== null) {
    const usable = problems.some((p) => p === null);
    return none(problems.filter((p) => p !== null).join('; '), usable);
  }
  const [x, y] = rows as [CountsRow, CountsRow];
  const differ = identityDifference(countIdentity(a, x), countIdentity(b, y));
  if (differ !== null) return none(`not like with like (${differ})`, true);
  const [p, q] = [x.perStep!, y.perStep!];
  const ratio = q.estimatedCycles / p.estimatedCycles;
  const verdict = ratio > 1 + threshold ? 'slower' : ratio < 1 - threshold ? 'faster' : 'no change';
  const change = {
    baseCyclesPerStep: p.estimatedCycles,
    newCyclesPerStep: q.estimatedCycles,
    baseInstructionsPerStep: p.instructions,
    newInstructionsPerStep: q.instructions,
    ratio,
    verdict,
    functions:
      x.counts?.functions && y.counts?.functions
        ? functionChanges(x.counts.functions, y.counts.functions, { base: x.steps, new: y.steps })
        : null,
  } as const;
  return { change, note: null, unverified: false };
}

/**
 * Why one side's count row cannot be compared: none, failed, impossible figures, or (for an
 * engine) no marked training steps: an engine that calls os.getPriority() itself leaves its marks
 * unfound, and its whole process is no measure of its training.
 */
function rowProblem(row: CountsRow | null, kind: 'engine' | 'program', side: string): string | null {
  if (row === null) return `no count run in ${side}`;
  if (row.counts === null) return `count failed in ${side} (${row.fault})`;
  const per = row.perStep;
  if (per === null || !(per.estimatedCycles > 0) || !Number.isFinite(per.estimatedCycles))
    return `no per-step count in ${side}${row.fault ? ` (${row.fault})` : ''}`;
  if (kind === 'engine' && row.basis !== 'training')
    return `no training marks found in ${side} (only the whole process was counted)`;
  return null;
}

export function countsSetupText(c: CountsSetup): string {
  const window = c.skip ? `${c.steps} steps after ${c.skip}` : `${c.steps} steps`;
  return `${window}, ${c.valgrind}, ${[...c.options, ...c.nodeFlags].join(' ')}`;
}
