/**
 * compare on instruction counts: deterministic (two counts of one job agree to about 1e-7), so the
 * change needs no interval; beyond ±threshold it is slower or faster, within it no change. Counts
 * decide only between folders that counted alike (the same count job, valgrind options and V8 flags).
 */
import { isDeepStrictEqual } from 'node:util';
import type { CountsSetup } from '../bench/env.ts';
import { countsRowOf } from '../bench/counts/rows.ts';
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

/** The engine's change in estimated cycles per step, or null unless both folders counted it alike. */
export function countsChange(
  engine: string,
  base: ResultsFolder,
  next: ResultsFolder,
  threshold: number,
): CountsChange | null {
  const [a, b] = [base.env.bench.counts, next.env.bench.counts];
  if (!a || !b || !isDeepStrictEqual(a, b)) return null;
  const [rowA, rowB] = [countsRowOf(base, engine), countsRowOf(next, engine)];
  const [x, y] = [rowA?.perStep, rowB?.perStep];
  if (!x || !y) return null;
  const [fa, fb] = [rowA?.counts?.functions, rowB?.counts?.functions];
  const ratio = y.estimatedCycles / x.estimatedCycles;
  const verdict = ratio > 1 + threshold ? 'slower' : ratio < 1 - threshold ? 'faster' : 'no change';
  return {
    baseCyclesPerStep: x.estimatedCycles,
    newCyclesPerStep: y.estimatedCycles,
    baseInstructionsPerStep: x.instructions,
    newInstructionsPerStep: y.instructions,
    ratio,
    verdict,
    functions: fa && fb ? functionChanges(fa, fb, { base: rowA!.steps, new: rowB!.steps }) : null,
  };
}

export function countsSetupText(c: CountsSetup): string {
  return `${c.steps} steps, ${c.valgrind}, ${[...c.options, ...c.nodeFlags].join(' ')}`;
}
