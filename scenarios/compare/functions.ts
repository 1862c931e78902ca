/**
 * Where a counted change went: two per-function profiles of one engine's training steps (BASE and
 * NEW, counted alike), function by function, in estimated cycles per step. The functions whose cost
 * moved most come first; the rest are summed into one row, so the rows add up to the engine's change.
 */
import { foldProfile, type FunctionCounts, type FunctionProfile } from '../bench/counts/functions.ts';

export interface FunctionChange {
  readonly name: string;
  readonly group: string;
  /** Estimated cycles per step on each side (0 where the side has no such function). */
  readonly baseCyclesPerStep: number;
  readonly newCyclesPerStep: number;
  /** NEW − BASE, per step. */
  readonly change: number;
  /** The change as a share of BASE's total estimated cycles per step. */
  readonly ofTotal: number;
  /** The change as a share of the engine's whole change (all rows sum to 1). */
  readonly ofChange: number;
}

export interface FunctionChanges {
  /** The functions that moved most, by |change|. */
  readonly top: readonly FunctionChange[];
  /** Every other function's change, summed, and how many they are. */
  readonly rest: { readonly change: number; readonly ofTotal: number; readonly functions: number };
  /** The total change per step: top and rest sum to it. */
  readonly change: number;
  /** The count job's steps on each side (the profiles' totals are over them). */
  readonly steps: { readonly base: number; readonly new: number };
  /** Both profiles, functions under CHART_SHARE of the total folded by group: what the page's icicles draw. */
  readonly profiles: { readonly base: FunctionProfile; readonly new: FunctionProfile };
  /** Unattributed on each side, a share of its total: a per-function change smaller than that is not sure. */
  readonly unattributed: { readonly base: number; readonly new: number };
}

/** How many functions a comparison names. */
export const TOP_FUNCTIONS = 10;
/** Functions under this share of the total are folded in the profiles kept for the charts. */
export const CHART_SHARE = 1e-3;

/** The per-function change between two profiles of `steps` steps each. */
export function functionChanges(
  base: FunctionProfile,
  next: FunctionProfile,
  steps: { readonly base: number; readonly new: number },
  top = TOP_FUNCTIONS,
): FunctionChanges {
  const byName = (p: FunctionProfile) => new Map<string, FunctionCounts>(p.functions.map((f) => [f.name, f]));
  const [a, b] = [byName(base), byName(next)];
  const baseTotal = base.total.estimatedCycles / steps.base;
  const change = next.total.estimatedCycles / steps.new - baseTotal;
  const rows = [...new Set([...a.keys(), ...b.keys()])].map((name): FunctionChange => {
    const [x, y] = [a.get(name), b.get(name)];
    const baseCyclesPerStep = (x?.estimatedCycles ?? 0) / steps.base;
    const newCyclesPerStep = (y?.estimatedCycles ?? 0) / steps.new;
    const d = newCyclesPerStep - baseCyclesPerStep;
    return {
      name,
      group: (x ?? y)!.group,
      baseCyclesPerStep,
      newCyclesPerStep,
      change: d,
      ofTotal: d / baseTotal,
      ofChange: change === 0 ? 0 : d / change,
    };
  });
  rows.sort((p, q) => Math.abs(q.change) - Math.abs(p.change) || p.name.localeCompare(q.name));
  const rest = rows.slice(top).reduce((s, r) => s + r.change, 0);
  return {
    top: rows.slice(0, top),
    rest: { change: rest, ofTotal: rest / baseTotal, functions: Math.max(0, rows.length - top) },
    change,
    steps: { ...steps },
    profiles: { base: foldProfile(base, CHART_SHARE), new: foldProfile(next, CHART_SHARE) },
    unattributed: {
      base: base.unattributed.instructions / base.total.instructions,
      new: next.unattributed.instructions / next.total.instructions,
    },
  };
}
