import { Bench } from 'tinybench';
import { z } from 'zod';
import type { Engine, ParamMatrix } from '../engines/engine.ts';
import type { TrainConfig } from '../workload/config.ts';
import type { Dataset } from '../workload/dataset.ts';
import { trainingStep } from '../workload/model.ts';
import { PyRandom } from '../workload/pyrandom.ts';
import { prepareJob } from './train.ts';
import { EngineUpdate } from './update.ts';

/** The operations timed, each as build + backward; sizes are microGPT's (n_embd 16, head size 4, vocab 27). */
export const MICRO_OPERATIONS = [
  'linear 16→16',
  'softmax 27',
  'rmsnorm 16',
  'attention head (8 keys)',
  'training step',
] as const;
export type MicroOperation = (typeof MICRO_OPERATIONS)[number];

/** tinybench's time budget per operation; a quarter of it again goes to warming up. */
export const DEFAULT_MICRO_TIME_MS = 500;

/** One engine × operation, measured. */
export interface MicroMeasured {
  readonly engine: string;
  readonly operation: MicroOperation;
  readonly status: 'ok';
  readonly meanNs: number;
  readonly medianNs: number;
  /** tinybench's relative margin of error of the mean, in percent (95% confidence). */
  readonly rmePercent: number;
  readonly samples: number;
}

/** One engine × operation whose process failed (threw, crashed, timed out, printed no row): why, in one line. */
export interface MicroFailed {
  readonly engine: string;
  readonly operation: MicroOperation;
  readonly status: 'failed';
  readonly reason: string;
}

/** A row of bench:micro's table: a fault costs its row, never the run. */
export type MicroRow = MicroMeasured | MicroFailed;

/** What a measuring process prints: its row, checked before it is believed. */
export const microMeasuredSchema = z.object({
  engine: z.string(),
  operation: z.enum(MICRO_OPERATIONS),
  status: z.literal('ok'),
  meanNs: z.number(),
  medianNs: z.number(),
  rmePercent: z.number(),
  samples: z.number(),
});

const WIDTH = 16;
const HEAD_SIZE = 4;
const KEYS = 8;
const LOGITS = 27;
const RMS_EPS = 1e-5;

/**
 * The single-operation fixtures, as parameters so that every engine can build on them through the
 * Engine interface alone: one matrix whose rows serve as inputs (x or q, then 8 keys, then 8 values),
 * a linear layer's weight, and a row of logits.
 */
function operationParams() {
  let offset = 0;
  const matrix = (name: string, rows: number, cols: number): ParamMatrix => {
    const m = { name, offset, rows, cols };
    offset += rows * cols;
    return m;
  };
  const inputs = matrix('inputs', 1 + 2 * KEYS, WIDTH);
  const weight = matrix('weight', WIDTH, WIDTH);
  const logits = matrix('logits', 1, LOGITS);
  const rng = new PyRandom(42);
  const values = Float64Array.from({ length: offset }, () => rng.gauss(0, 1));
  return { inputs, weight, logits, values };
}

/**
 * The closure timed for `operation`, on `engine`, a new one: the operation's graph built
 * on a fresh step and back-propagated from the sum of its outputs. The training step is the job's
 * first document (a fixed graph size, so its spread is the engine's, not the documents'), with
 * Adam. One engine per call, so that a process timing one operation holds one engine, as a
 * training run does (an engine's JIT state may depend on it, e.g. closures V8 specializes only
 * while they are the only ones).
 */
export function microTask(
  operation: MicroOperation,
  engine: Engine,
  config: TrainConfig,
  dataset: Dataset,
): () => void {
  if (operation === 'training step') {
    const job = prepareJob(config, dataset);
    engine.init(job.params);
    const tokens = job.tokenizer.encodeDocument(job.docs[0]);
    const updater = new EngineUpdate(engine, config, job.params);
    let step = 0;
    const loss = new Float64Array(1);
    return () => {
      engine.reset();
      trainingStep(engine, job.layout, config, tokens, null, loss, null);
      updater.update(step);
      step = (step + 1) % config.steps;
    };
  }
  const { inputs, weight, logits, values } = operationParams();
  engine.init(values);
  const x = () => engine.row(inputs, 0);
  const rows = (first: number) => Array.from({ length: KEYS }, (_, t) => engine.row(inputs, first + t));
  const build = {
    'linear 16→16': () => engine.linear(x(), weight),
    'softmax 27': () => engine.softmax(engine.row(logits, 0)),
    'rmsnorm 16': () => engine.rmsnorm(x(), RMS_EPS),
    'attention head (8 keys)': () =>
      engine.attnMix(engine.softmax(engine.attnScores(x(), rows(1), 0, HEAD_SIZE)), rows(1 + KEYS), 0, HEAD_SIZE),
  }[operation];
  const differentiate = engine.valueAndGrad;
  if (differentiate !== undefined) {
    const total = () => engine.sum(build());
    return () => {
      engine.reset();
      differentiate(total);
    };
  }
  return () => {
    engine.reset();
    engine.backward(engine.sum(build()));
  };
}

/** Times one operation with tinybench for about `timeMs` (after a warm-up), in this process. */
export function runMicro(engine: string, operation: MicroOperation, task: () => void, timeMs: number): MicroMeasured {
  const bench = new Bench({
    time: timeMs,
    iterations: 5,
    warmupTime: Math.max(1, timeMs / 4),
    warmupIterations: 3,
    throws: true,
  });
  bench.add(operation, task);
  bench.runSync();
  const result = bench.tasks[0].result;
  if (result.state !== 'completed')
    throw new Error(`${engine} / ${operation}: tinybench ended in state ${result.state}`);
  const ms = result.latency;
  return {
    engine,
    operation,
    status: 'ok',
    meanNs: ms.mean * 1e6,
    medianNs: ms.p50 * 1e6,
    rmePercent: ms.rme,
    samples: ms.samplesCount,
  };
}
