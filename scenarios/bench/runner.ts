/**
 * Runs one job in a fresh Node process (so no engine's JIT state or heap touches another's) and
 * turns however that process ended into an outcome: a result, a divergence, or a failure with
 * its reason. A fault in the child never escapes as an exception here.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GradcheckResult } from '../gradcheck.ts';
import type { ChildJob, WorkerMessage } from './protocol.ts';
import type { TrainResult } from '../train.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Resolved here, so the worker starts the same from any working directory. */
const TSX_LOADER = import.meta.resolve('tsx');
/** How much of the child's stderr is kept to explain a crash. */
const STDERR_TAIL = 4096;

export type Progress = Extract<WorkerMessage, { type: 'start' | 'step' }>;
type FinalMessage = Exclude<WorkerMessage, Progress>;

export type RunOutcome =
  | { status: 'ok'; result: TrainResult | GradcheckResult; wallMs: number }
  | { status: 'diverged'; step: number; reason: string; wallMs: number }
  | { status: 'failed'; reason: string; wallMs: number }
  /** Stopped by the caller's signal (or the child got SIGINT, as from ^C in its terminal): nothing to record. */
  | { status: 'interrupted' };

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

/** How a child ended, as the runner saw it. */
export interface ChildEnd {
  reply?: FinalMessage;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  interrupted: boolean;
  stderr: string;
  spawnError?: Error;
}

export function runChild(job: ChildJob, opts: RunOptions): Promise<RunOutcome> {
  if (opts.signal?.aborted) return Promise.resolve({ status: 'interrupted' });
  return new Promise((resolve) => {
    const started = performance.now();
    const child = fork(WORKER, [JSON.stringify(job)], {
      execArgv: ['--import', TSX_LOADER],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const end: ChildEnd = { code: null, signal: null, timedOut: false, interrupted: false, stderr: '' };
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      end.stderr = (end.stderr + chunk).slice(-STDERR_TAIL);
    });
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'start' || m.type === 'step') opts.onProgress?.(m);
      else end.reply = m;
    });
    const kill = (why: 'timedOut' | 'interrupted') => {
      end[why] = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timedOut'), opts.timeoutMs);
    const onAbort = () => kill('interrupted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(outcomeOf(end, opts.timeoutMs, performance.now() - started));
    };
    child.on('error', (err) => {
      // A failed spawn gets no 'close'; a failed kill or send does, and is explained by it.
      if (child.pid === undefined) {
        end.spawnError = err;
        finish();
      }
    });
    child.on('close', (code, signal) => {
      end.code = code;
      end.signal = signal;
      finish();
    });
  });
}

export function outcomeOf(end: ChildEnd, timeoutMs: number, wallMs: number): RunOutcome {
  const failed = (reason: string): RunOutcome => ({ status: 'failed', reason, wallMs });
  if (end.interrupted || end.signal === 'SIGINT') return { status: 'interrupted' };
  if (end.timedOut) return failed(`timed out after ${timeoutMs / 1000} s`);
  if (end.spawnError) return failed(`could not start: ${end.spawnError.message}`);
  const { reply } = end;
  if (reply?.type === 'result' && end.code === 0) return { status: 'ok', result: reply.result, wallMs };
  if (reply?.type === 'diverged')
    return { status: 'diverged', step: reply.step, reason: `loss became ${reply.loss}`, wallMs };
  if (reply?.type === 'error') return failed(`threw ${reply.message}`);
  if (/heap out of memory|Reached heap limit/.test(end.stderr))
    return failed('out of memory (JavaScript heap limit reached)');
  if (end.signal) return failed(`killed by ${end.signal}`);
  const lastLine = end.stderr.trim().split('\n').pop() ?? '';
  if (end.code !== 0) return failed(`exited with code ${end.code}${lastLine ? `: ${lastLine}` : ''}`);
  return failed('exited without a result');
}
