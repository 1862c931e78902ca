/**
 * Entry point of every isolated run (`node --import tsx worker.ts '<ChildJob JSON>'`): one run of one
 * job kind on one engine in a fresh process, reporting over the IPC channel.
 */
import { loadEngines } from '../../engines/registry.ts';
import { loadDataset } from '../../workload/dataset.ts';
import { DivergedError } from '../train.ts';
import type { JobProgress, KindRun } from './job-kind.ts';
import type { ChildJob, WorkerMessage } from './protocol.ts';

/** Progress goes out at most this often, so fast engines do not spend their steps on IPC. */
const PROGRESS_INTERVAL_MS = 100;
/** A counted run's progress: this many messages per job, whatever the machine's speed. */
const COUNTED_PROGRESS_MESSAGES = 100;

function send(message: WorkerMessage): Promise<void> {
  return new Promise((done) => process.send!(message, () => done()));
}

function progressOverIpc(counted: boolean): JobProgress {
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
      void send({ type: 'start', steps: n });
    },
    step(step, loss) {
      if (!Number.isFinite(loss)) throw new DivergedError(step, loss, `loss became ${loss}`);
      if (due(step) || step === steps) void send({ type: 'step', step, loss });
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
      progressOverIpc(job.counted === true),
    ),
  };
}

// A bench that is gone cannot take the result: stop at once (when not stuck; the reaper covers that).
const parentGone = () => process.exit(1);
process.once('disconnect', parentGone);

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
await send(reply);
process.off('disconnect', parentGone);
process.disconnect();
// A timer or handle the engine left open must not keep a finished run alive until its timeout.
process.exit();
