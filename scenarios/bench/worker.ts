/**
 * Entry point of every isolated run (`node --import tsx worker.ts '<ChildJob JSON>'`): one run of one
 * job kind on one engine in a fresh process, reporting through the messages pipe (protocol.ts).
 */
import { writeSync } from 'node:fs';
import { loadEngines } from '../../engines/registry.ts';
import { loadDataset } from '../../workload/dataset.ts';
import { DivergedError } from '../train.ts';
import type { JobProgress, KindRun } from './job-kind.ts';
import { MESSAGES_FD, type ChildJob, type WorkerMessage } from './protocol.ts';

/** Progress goes out at most this often, so fast engines do not spend their steps on messages. */
const PROGRESS_INTERVAL_MS = 100;
/** A counted run's progress: this many messages per job, whatever the machine's speed. */
const COUNTED_PROGRESS_MESSAGES = 100;

/** Lets a write to a full pipe wait a millisecond without an event loop (or a module) to wait on. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * One message, written whole before the run goes on. A pipe that is full (the bench is busy) is
 * waited on; one whose reader is gone (the bench was killed) ends this run at once, as it can take
 * no result.
 */
function send(message: WorkerMessage): void {
  const bytes = Buffer.from(`${JSON.stringify(message)}\n`);
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(MESSAGES_FD, bytes, written);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN') process.exit(1);
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function progressMessages(counted: boolean): JobProgress {
  let steps = 0;
  let every = 1;
  let lastSent = 0;
  const due = (step: number) => {
    if (counted) return step % every === 0;
    const now = performance.now();
    if (now - lastSent < PROGRESS_INTERVAL_MS) return false;
    lastSent = now;
    return true;
  };
  return {
    start(n) {
      steps = n;
      every = Math.max(1, Math.ceil(n / COUNTED_PROGRESS_MESSAGES));
      send({ type: 'start', steps: n });
    },
    step(step, loss) {
      if (!Number.isFinite(loss)) throw new DivergedError(step, loss, `loss became ${loss}`);
      if (due(step) || step === steps) send({ type: 'step', step, loss });
    },
  };
}

async function run(job: ChildJob): Promise<WorkerMessage> {
  const engines = await loadEngines(job.enginesModule);
  const engine = engines.find(job.engine);
  if (!engine) throw new Error(`unknown engine '${job.engine}'`);
  const kind = (await import(job.kindModule)).default as KindRun<unknown>;
  const dataset = loadDataset(job.dataPath ?? undefined);
  return {
    type: 'result',
    result: await kind.run(
      { engine, dataset, config: job.config, countSkip: job.countSkip ?? 0 },
      progressMessages(job.counted === true),
    ),
  };
}

let reply: WorkerMessage;
try {
  reply = await run(JSON.parse(process.argv[2]) as ChildJob);
} catch (err) {
  process.exitCode = 1;
  reply =
    err instanceof DivergedError
      ? { type: 'diverged', step: err.step, reason: err.message }
      : { type: 'error', message: err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err) };
}
send(reply);
// A timer or handle the engine left open must not keep a finished run alive until its timeout.
process.exit();
