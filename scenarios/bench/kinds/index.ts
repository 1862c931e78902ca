/**
 * The job kinds: those bench:all runs on every engine, in order (every engine's trials, then every
 * engine's gradient check), and every kind a results folder may hold (external programs' runs too).
 */
import type { JobKind, RunKind } from '../job-kind.ts';
import counts from './counts.ts';
import external from './external.ts';
import externalCounts from './external-counts.ts';
import gradcheck from './gradcheck.ts';
import train from './train.ts';

export {
  counts as countsKind,
  external as externalKind,
  externalCounts as externalCountsKind,
  gradcheck as gradcheckKind,
  train as trainKind,
};

/* eslint-disable @typescript-eslint/no-explicit-any -- lists of kinds with different result types */
export type AnyKind = RunKind<any>;
export type AnyJobKind = JobKind<any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Run in worker processes, on engines: the timed ones, then the count run (with --counts). */
export const TIMED_KINDS: readonly AnyJobKind[] = [train, gradcheck];
export const WORKER_KINDS: readonly AnyJobKind[] = [...TIMED_KINDS, counts];

/** Every kind of record in runs.jsonl. */
export const KINDS: readonly AnyKind[] = [train, external, gradcheck, counts, externalCounts];
