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
import { crashReason, watchChild, type ChildExit } from '../child-process.ts';
import { firstIssue } from './schemas.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Resolved here, so the worker starts the same from any working directory. */
const TSX_LOADER = import.meta.resolve('tsx');
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

/** How a worker ended: its process, and the final message it sent, if any. */
export type ChildEnd = ChildExit & { reply?: FinalMessage };

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
      let reply: FinalMessage | undefined;
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'start' || m.type === 'step') opts.onProgress?.(m);
        else reply = m;
      });
      void watchChild(child, opts.timeoutMs, opts.signal).then((end) =>
        resolve(outcomeOf(task.kind, { ...end, reply }, opts.timeoutMs, performance.now() - started)),
      );
    });
  };
}

export function outcomeOf<R>(kind: JobKind<R>, end: ChildEnd, timeoutMs: number, wallMs: number): Executed<R> {
  const failed = (reason: string): Executed<R> => ({ status: 'failed', reason, wallMs });
  if (end.interrupted) return { status: 'interrupted' };
  if (end.timedOut) return failed(`timed out after ${timeoutMs / 1000} s`);
  const { reply } = end;
  if (reply?.type === 'result' && end.code === 0 && !end.spawnError) {
    const parsed = kind.result.safeParse(reply.result);
    if (!parsed.success) return failed(`sent a malformed ${kind.name} result (${firstIssue(parsed.error)})`);
    return { status: 'ok', result: parsed.data, wallMs };
  }
  if (reply?.type === 'diverged') {
    return { status: 'diverged', divergedAtStep: reply.step, reason: reply.reason, wallMs };
  }
  if (reply?.type === 'error') return failed(`threw ${reply.message}`);
  return failed(crashReason(end) ?? 'exited without a result');
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
