/**
 * The default executor: each run in a fresh Node process (so no engine's JIT state or heap touches
 * another's), however that process ends turned into an outcome: a result that fits its kind's
 * schema, a divergence, or a failure with its reason. A fault in the child never escapes as an
 * exception here.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TrainConfig } from '../../workload/config.ts';
import type { JobKind } from './job-kind.ts';
import type { ChildJob, WorkerMessage } from './protocol.ts';
import type { Executed, Executor } from './scheduler.ts';
import { firstIssue } from './schemas.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Resolved here, so the worker starts the same from any working directory. */
const TSX_LOADER = import.meta.resolve('tsx');
/** How much of the child's stderr is kept to explain a crash. */
const STDERR_TAIL = 4096;
/** How long past its timeout a worker may outlive a bench that can no longer kill it. */
const REAPER_GRACE_SECONDS = 5;

type FinalMessage = Extract<WorkerMessage, { type: 'result' | 'diverged' | 'error' }>;

/** What every run of one bench shares. */
export interface JobSetup {
  /** The dataset file, or null for the embedded list. */
  readonly dataPath: string | null;
  readonly config: TrainConfig;
  /** The plugin engines' module, or null. */
  readonly enginesModule: string | null;
}

/** How a child ended, as the executor saw it. */
export interface ChildEnd {
  reply?: FinalMessage;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  interrupted: boolean;
  stderr: string;
  spawnError?: Error;
}

export function processExecutor(setup: JobSetup): Executor {
  return (task, opts) => {
    const job: ChildJob = { kindModule: task.kind.module, engine: task.engine, ...setup };
    if (opts.signal?.aborted) return Promise.resolve({ status: 'interrupted' });
    return new Promise((resolve) => {
      const started = performance.now();
      const child = fork(WORKER, [JSON.stringify(job)], {
        execArgv: ['--import', TSX_LOADER],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        // A process group of its own: ^C in the terminal reaches the bench, which then stops its worker;
        // a worker ended by a signal of its own is that run's failure.
        detached: true,
      });
      startReaper(child, opts.timeoutMs);
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
        resolve(outcomeOf(task.kind, end, opts.timeoutMs, performance.now() - started));
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
  };
}

export function outcomeOf<R>(kind: JobKind<R>, end: ChildEnd, timeoutMs: number, wallMs: number): Executed<R> {
  const failed = (reason: string): Executed<R> => ({ status: 'failed', reason, wallMs });
  if (end.interrupted) return { status: 'interrupted' };
  if (end.timedOut) return failed(`timed out after ${timeoutMs / 1000} s`);
  if (end.spawnError) return failed(`could not start: ${end.spawnError.message}`);
  const { reply } = end;
  if (reply?.type === 'result' && end.code === 0) {
    const parsed = kind.result.safeParse(reply.result);
    if (!parsed.success) return failed(`sent a malformed ${kind.name} result (${firstIssue(parsed.error)})`);
    return { status: 'ok', result: parsed.data, wallMs };
  }
  if (reply?.type === 'diverged') {
    return { status: 'diverged', divergedAtStep: reply.step, reason: reply.reason, wallMs };
  }
  if (reply?.type === 'error') return failed(`threw ${reply.message}`);
  if (/heap out of memory|Reached heap limit/.test(end.stderr))
    return failed('out of memory (JavaScript heap limit reached)');
  if (end.signal) return failed(`killed by ${end.signal}`);
  const lastLine = end.stderr.trim().split('\n').pop() ?? '';
  if (end.code !== 0) return failed(`exited with code ${end.code}${lastLine ? `: ${lastLine}` : ''}`);
  return failed('exited without a result');
}

/**
 * A watcher beside each worker, outside the timed process: it kills the worker when the bench is
 * gone (killed with -9, it could not) or the worker has run past its timeout plus a grace period.
 * A worker stuck in a loop cannot watch its own IPC channel; a shell loop can, and it ends within
 * a second of the worker. It is detached and unreferenced, so it never holds the bench open.
 */
function startReaper(worker: ChildProcess, timeoutMs: number): void {
  if (worker.pid === undefined) return;
  const seconds = Math.ceil(timeoutMs / 1000) + REAPER_GRACE_SECONDS;
  const script =
    'i=0; while [ "$i" -lt "$3" ] && kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; ' +
    'do sleep 1; i=$((i + 1)); done; kill -0 "$1" 2>/dev/null && kill -9 "$1" 2>/dev/null';
  const args = ['-c', script, 'reaper', String(worker.pid), String(process.pid), String(seconds)];
  spawn('/bin/sh', args, { detached: true, stdio: 'ignore' })
    .on('error', () => {})
    .unref();
}
