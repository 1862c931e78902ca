/**
 * The default executor: each run in a fresh Node process (so no engine's JIT state or heap touches
 * another's), however that process ends turned into an outcome: a result that fits its kind's
 * schema, a divergence, or a failure with its reason. A fault in the child never escapes as an
 * exception here.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TrainConfig } from '../../workload/config.ts';
import { runsInWorker, type JobKind } from './job-kind.ts';
import { MESSAGES_FD, type ChildJob, type WorkerMessage } from './protocol.ts';
import type { Executed, Executor } from './scheduler.ts';
import { crashReason, startChild, startReaper, watchChild, type ChildExit } from '../child-process.ts';
import { firstIssue } from './schemas.ts';
import { meteredEnd, meteredEnv, type ResourceMeter } from './resource-meter.ts';
import { isTypeScript, type WorkerBuild } from './worker-build.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Resolved here, so the worker starts the same from any working directory. */
const TSX_LOADER = import.meta.resolve('tsx');

type FinalMessage = Extract<WorkerMessage, { type: 'result' | 'diverged' | 'error' }>;

/** What every run of one bench shares. */
export interface JobSetup {
  /** The dataset file, or null for the embedded list. */
  readonly dataPath: string | null;
  readonly config: TrainConfig;
  /** The plugin engines' module, or null. */
  readonly enginesModule: string | null;
  /**
   * The engines the plugin module registers: only their runs load it, so that no other engine's
   * process (its start-up, its whole-process time and counts) carries the plugin's imports. Left out,
   * every run loads it.
   */
  readonly pluginEngines?: readonly string[];
  /** Runs counted under callgrind (see ChildJob.counted), and the steps before the counted ones. */
  readonly counted?: boolean;
  readonly countSkip?: number;
}

/** How runs are carried out: from the compiled worker where it can (else under tsx), measured where it can. */
export interface ProcessOptions {
  readonly worker: WorkerBuild | null;
  readonly meter: ResourceMeter | null;
}

/** How a worker ended: its process, and the final message it sent, if any. */
export type ChildEnd = ChildExit & { reply?: FinalMessage };

export function processExecutor(setup: JobSetup, { worker, meter }: ProcessOptions): Executor {
  return (task, opts) => {
    const { kind } = task;
    if (!runsInWorker(kind)) throw new Error(`${kind.name} runs do not run in a worker`);
    const { pluginEngines, ...shared } = setup;
    const loadsPlugin = pluginEngines === undefined || pluginEngines.includes(task.engine);
    const enginesModule = loadsPlugin ? setup.enginesModule : null;
    // A TypeScript plugin's engines run under tsx, the only loader here that imports TypeScript.
    const underTsx = enginesModule !== null && isTypeScript(enginesModule);
    const compiledKind = underTsx ? undefined : worker?.kindModules.get(kind.module);
    const job: ChildJob = { kindModule: compiledKind ?? kind.module, engine: task.engine, ...shared, enginesModule };
    // A kind defined outside the build (a test's) needs the TypeScript loader.
    const nodeFlags = meter?.nodeFlags ?? [];
    const node = compiledKind
      ? [process.execPath, ...nodeFlags, worker!.script]
      : [process.execPath, ...nodeFlags, '--import', TSX_LOADER, WORKER];
    const metered = meter?.wrap([...node, JSON.stringify(job)]);
    const [file, ...args] = metered?.argv ?? [...node, JSON.stringify(job)];
    if (opts.signal?.aborted) return Promise.resolve({ status: 'interrupted' });
    return new Promise((resolve) => {
      const started = performance.now();
      let startupMs: number | null = null;
      const child = startChild(file, args, {
        // stdout piped too: what the engine's libraries print goes into the run's record, nowhere else.
        // The messages come through a pipe of their own (MESSAGES_FD).
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        env: workerEnv(meter),
        // A process group of its own: ^C in the terminal reaches the bench, which then stops its worker;
        // a worker ended by a signal of its own is that run's failure.
        detached: true,
      });
      startReaper(child, opts.timeoutMs);
      const printed = printedBy(child);
      let reply: FinalMessage | undefined;
      onMessages(child, (m) => {
        if (m.type === 'start') startupMs = performance.now() - started;
        if (m.type === 'start' || m.type === 'step') opts.onProgress?.(m);
        else reply = m;
      });
      void watchChild(child, opts.timeoutMs, opts.signal).then((end) => {
        const wallMs = performance.now() - started;
        const measured = meteredEnd(end, metered?.read());
        const outcome = outcomeOf(kind, { ...measured.end, reply }, opts.timeoutMs, wallMs);
        if (outcome.status === 'interrupted') return resolve(outcome);
        const lingering = measured.end.lingering && { lingering: measured.end.lingering };
        resolve({ ...outcome, startupMs, ...measured.cost, ...lingering, ...printed() });
      });
    });
  };
}

/**
 * Calls `handle` with each message the worker writes to its messages pipe. Each chunk is split
 * where it is read; a line that is not a message (a library writing to that descriptor) is skipped.
 */
function onMessages(child: ChildProcess, handle: (message: WorkerMessage) => void): void {
  // A child Node refused to start (see startChild) has no stdio at all.
  const pipe = child.stdio?.[MESSAGES_FD];
  if (!pipe) return;
  let partial: Buffer[] = [];
  pipe.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      partial.push(chunk.subarray(start, end));
      const line = Buffer.concat(partial).toString('utf8');
      partial = [];
      start = end + 1;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof message === 'object' && message !== null && 'type' in message) handle(message as WorkerMessage);
    }
    if (start < chunk.length) partial.push(chunk.subarray(start));
  });
}

/**
 * A worker's environment, timed or counted: ours (and the meter's) without NODE_EXTRA_CA_CERTS. Set
 * (some CI images and sandboxes set it to the system's whole CA bundle), it makes Node parse every
 * certificate before anything else: about 70 ms of CPU here, 416M instructions counted, in every
 * worker's start-up and wall time, for a process that opens no TLS connection.
 */
export function workerEnv(meter: ResourceMeter | null): NodeJS.ProcessEnv {
  const env = meteredEnv(meter);
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** How much of what a worker prints is kept in its record (a library's banner comes first). */
const PRINTED_HEAD = 4096;

/** The start of what the child prints on stdout and stderr, interleaved as it came: `{ output }`, or {} for nothing. */
function printedBy(child: ChildProcess): () => { output?: string } {
  let text = '';
  const keep = (chunk: Buffer | string) => {
    if (text.length < PRINTED_HEAD) text = (text + chunk.toString()).slice(0, PRINTED_HEAD);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => (text === '' ? {} : { output: text });
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
