/**
 * Entry point of every isolated run (`node --import tsx worker.ts '<ChildJob JSON>'`): one training
 * run or one gradient check of one engine in a fresh process, reporting over the IPC channel.
 */
import { findEngine } from '../../engines/registry.ts';
import { loadDataset } from '../../workload/dataset.ts';
import { train } from '../train.ts';
import type { ChildJob, WorkerMessage } from './protocol.ts';

/** Progress goes out at most this often, so fast engines do not spend their steps on IPC. */
const PROGRESS_INTERVAL_MS = 100;

class Diverged extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
  ) {
    super(`loss ${loss} at step ${step}`);
  }
}

function send(message: WorkerMessage): Promise<void> {
  return new Promise((done) => process.send!(message, () => done()));
}

async function run(job: ChildJob): Promise<WorkerMessage> {
  const info = findEngine(job.engine);
  if (!info) throw new Error(`unknown engine '${job.engine}'`);
  const dataset = loadDataset(job.dataPath ?? undefined);
  const { config } = job;
  if (job.kind === 'gradcheck') {
    // Loaded only here, so a training run's process holds nothing but the job and its engine.
    const { gradcheck } = await import('../gradcheck.ts');
    return { type: 'result', result: gradcheck({ engine: info, dataset, config }) };
  }

  let lastProgress = 0;
  const result = train({
    engineName: info.name,
    engine: info.create(),
    config,
    dataset,
    onStart: () => void send({ type: 'start', steps: config.steps }),
    onStep: (step, loss) => {
      if (!Number.isFinite(loss)) throw new Diverged(step, loss);
      const now = performance.now();
      if (now - lastProgress >= PROGRESS_INTERVAL_MS || step === config.steps) {
        lastProgress = now;
        void send({ type: 'step', step, loss });
      }
    },
  });
  return { type: 'result', result };
}

let reply: WorkerMessage;
try {
  reply = await run(JSON.parse(process.argv[2]) as ChildJob);
} catch (err) {
  process.exitCode = 1;
  reply =
    err instanceof Diverged
      ? { type: 'diverged', step: err.step, loss: String(err.loss) }
      : { type: 'error', message: err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err) };
}
await send(reply);
process.disconnect();
