/** The job kinds bench:all runs, in order: every engine's trials, then every engine's gradient check. */
import type { JobKind } from '../job-kind.ts';
import gradcheck from './gradcheck.ts';
import train from './train.ts';

export { gradcheck as gradcheckKind, train as trainKind };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a list of kinds with different result types
export type AnyKind = JobKind<any>;

export const KINDS: readonly AnyKind[] = [train, gradcheck];
