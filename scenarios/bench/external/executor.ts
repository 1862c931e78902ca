/**
 * Runs one trial of an external program: its command with the job filled in, in a process group of
 * its own (so a timeout ends the whole tree), measured as the engines' workers are, its output read
 * as it comes. A program that exits non-zero, dies by a signal or passes the timeout is a failed run;
 * so is one whose output its own patterns could not finish matching by the deadline.
 */
import type { ExternalResult } from '../kinds/external.ts';
import type { Executed, Executor } from '../scheduler.ts';
import { crashReason, startChild, startReaper, watchChild } from '../../child-process.ts';
import { meteredEnd, meteredEnv, type ResourceMeter } from '../resource-meter.ts';
import { emptyOutput, hasOwnPatterns, InlineMatcher, OutputReader } from './output.ts';
import { WorkerMatcher } from './pattern-worker.ts';
import { fillPlaceholders, type ExternalSpec, type PlaceholderJob } from './spec.ts';

/** Progress goes to the terminal at most this often. */
const PROGRESS_INTERVAL_MS = 100;

export interface ExternalSetup {
  readonly specs: readonly ExternalSpec[];
  readonly job: PlaceholderJob;
  readonly meter: ResourceMeter | null;
}

export function externalExecutor({ specs, job, meter }: ExternalSetup): Executor {
  return <R>(task: { engine: string }, opts: Parameters<Executor>[1]): Promise<Executed<R>> => {
    const spec = specs.find((s) => s.name === task.engine);
    if (!spec) throw new Error(`no external program '${task.engine}'`);
    if (opts.signal?.aborted) return Promise.resolve({ status: 'interrupted' });
    const command = fillPlaceholders(spec.command, job);
    const metered = meter?.wrap(command);
    const [file, ...args] = metered?.argv ?? command;
    return new Promise((resolve) => {
      const started = performance.now();
      const child = startChild(file, args, {
        cwd: spec.cwd ?? undefined,
        env: meteredEnv(meter, spec.env),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      startReaper(child, opts.timeoutMs);
      const output = emptyOutput();
      let lastSent = -Infinity;
      const onStep = (step: number, steps: number | null, loss: number) => {
        if (output.losses.length === 1) opts.onProgress?.({ type: 'start', steps: steps ?? job.config.steps });
        const now = performance.now();
        if (now - lastSent < PROGRESS_INTERVAL_MS && step !== steps) return;
        lastSent = now;
        opts.onProgress?.({ type: 'step', step, loss });
      };
      // One matcher for both streams: its batches are answered in order.
      const matcher = hasOwnPatterns(spec) ? new WorkerMatcher(spec) : new InlineMatcher(spec);
      const readers = [child.stdout, child.stderr].map((stream) => {
        const reader = new OutputReader(spec, output, onStep, matcher);
        stream?.setEncoding('utf8').on('data', (chunk: string) => reader.push(chunk));
        return reader;
      });
      void watchChild(child, opts.timeoutMs, opts.signal).then(async (watched) => {
        const wallMs = performance.now() - started;
        readers.forEach((r) => r.end());
        // The rest of the output matched, but never past the run's deadline.
        const unmatched =
          matcher instanceof WorkerMatcher ? await matcher.finish(started + opts.timeoutMs - performance.now()) : null;
        const { end, cost } = meteredEnd(watched, metered?.read());
        if (end.interrupted) return resolve({ status: 'interrupted' });
        const footing = { wallMs, startupMs: null, ...cost, ...(end.lingering && { lingering: end.lingering }) };
        const timedOut = `timed out after ${opts.timeoutMs / 1000} s`;
        const failure = end.timedOut
          ? `${timedOut}${unmatched ? ` (${unmatched})` : ''}`
          : unmatched
            ? `${timedOut} (${unmatched})`
            : crashReason(end);
        if (failure !== null) return resolve({ status: 'failed', reason: failure, ...footing });
        const result: ExternalResult = { command, ...output };
        resolve({ status: 'ok', result: result as R, ...footing });
      });
    });
  };
}
