/**
 * A folder's count runs, one row per engine or program: the figures the report, the CSVs and compare
 * show. Per step means per training step: of the count job's marked steps for an engine; for a
 * program (which marks nothing), of its whole process over the steps it printed (a program with a
 * job of its own runs that one), else over the count job's steps, the skipped ones included.
 */
import type { RunRecord } from '../job-kind.ts';
import { countsKind, externalCountsKind } from '../kinds/index.ts';
import { runsOf, type ResultsFolder } from '../results.ts';
import type { CacheCounts, ProcessCounts } from './callgrind.ts';
import type { ExternalResult } from '../kinds/external.ts';

export interface CountsRow {
  readonly engine: string;
  /** The steps the per-step figures divide by: an engine's counted ones, a program's whole job's. */
  readonly steps: number;
  /** The steps an engine ran before its counted ones (--count-skip); 0 for a program, counted whole. */
  readonly skipped: number;
  /** Null when the count run failed (then `fault` says why; it also says why a counted row has no per-step figures). */
  readonly counts: ProcessCounts | null;
  readonly fault: string | null;
  /** What the per-step figures divide: the training steps alone, or the whole process. */
  readonly basis: 'training' | 'whole process';
  readonly perStep: { readonly instructions: number; readonly estimatedCycles: number } | null;
  /** Misses per access (instruction fetches, data reads and writes) of what `basis` names. */
  readonly l1MissRate: number | null;
  readonly llMissRate: number | null;
}

/** Every count run in the folder, engines first, in the order they ran. */
export function countsRows(folder: ResultsFolder): CountsRow[] {
  const steps = folder.env.bench.counts?.steps ?? 0;
  const skip = folder.env.bench.counts?.skip ?? 0;
  return [
    ...runsOf(folder, countsKind).map((r) => countsRow(r, steps, skip)),
    ...runsOf(folder, externalCountsKind).map((r) => countsRow(r, printedSteps(r) ?? skip + steps, 0)),
  ];
}

/** The count row of one engine or program, or null if it has no count run. */
export function countsRowOf(folder: ResultsFolder, engine: string): CountsRow | null {
  return countsRows(folder).find((r) => r.engine === engine) ?? null;
}

/** The steps an external program said it ran (`step 5 / 20`, or its last loss line's step). */
function printedSteps(run: RunRecord): number | null {
  if (run.kind !== externalCountsKind.name || run.status !== 'ok') return null;
  const r = run.result as ExternalResult;
  return r.printedSteps ?? r.losses.at(-1)?.step ?? null;
}

function countsRow(run: RunRecord, steps: number, skipped: number): CountsRow {
  const counts = run.status === 'ok' ? run.counts : null;
  // A program may print any step count (0, 1e400): per-step figures only over a possible one.
  const possible = Number.isSafeInteger(steps) && steps > 0;
  const impossible = possible ? null : `printed an impossible step count (${steps}): no per-step figures`;
  const fault = run.status === 'ok' ? impossible : run.reason;
  const counted: CacheCounts | null = counts ? (counts.training ?? counts.whole) : null;
  const part = possible ? counted : null;
  const accesses = part ? part.instructions + part.dataReads + part.dataWrites : 0;
  return {
    engine: run.engine,
    steps,
    skipped,
    counts,
    fault,
    basis: counts && !counts.training ? 'whole process' : 'training',
    perStep: part && { instructions: part.instructions / steps, estimatedCycles: part.estimatedCycles / steps },
    l1MissRate: part && accesses > 0 ? part.l1Misses / accesses : null,
    llMissRate: part && accesses > 0 ? part.llMisses / accesses : null,
  };
}
