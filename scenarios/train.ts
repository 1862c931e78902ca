import type { Engine } from '../engines/engine.ts';
import { Adam } from '../workload/adam.ts';
import type { TrainConfig } from '../workload/config.ts';
import { Tokenizer, type Dataset } from '../workload/dataset.ts';
import { documentLoss, initParams, modelLayout, sampleTokens } from '../workload/model.ts';
import { PhaseTimer } from '../workload/phase-timer.ts';
import { PyRandom } from '../workload/pyrandom.ts';

export interface TrainOptions {
  readonly engineName: string;
  readonly engine: Engine;
  readonly config: TrainConfig;
  readonly dataset: Dataset;
  /** Time forward/softmax/backward/update separately (default true); off leaves only the total. */
  readonly phaseTimers?: boolean;
  /** Run only the first N steps of the `config.steps` schedule (default: all of them). */
  readonly stopAfter?: number;
  /** Called once the job is prepared, before the first step. */
  readonly onStart?: (job: { docs: number; vocabSize: number; numParams: number }) => void;
  /** Called after every step with the 1-based step number and its loss. */
  readonly onStep?: (step: number, loss: number) => void;
}

interface MeanMax {
  mean: number;
  max: number;
}

export interface TrainResult {
  engine: string;
  config: TrainConfig;
  seed: number;
  dataset: { source: string; docs: number; sha256: string };
  vocabSize: number;
  numParams: number;
  losses: number[];
  finalLoss: number;
  meanLossLast100: number;
  samples: string[];
  nodesPerStep: MeanMax;
  edgesPerStep: MeanMax;
  /** Means over the steps of the engine's vector operations and flops (forward + backward); null if it doesn't count them. */
  vectorOpsPerStep: number | null;
  flopsPerStep: number | null;
  /** Counted flops over the training time, in 1e9 per second; null if the engine doesn't count flops. */
  gflops: number | null;
  /** total = forward + softmax + backward + update: the training time, sampling excluded. The phases are null without phase timers. */
  timingMs: {
    total: number;
    forward: number | null;
    softmax: number | null;
    backward: number | null;
    update: number | null;
  };
  msPerStep: number;
  /** The process's peak resident set; the largest heap in use seen after every 10th step (sampled: the heap saw-tooths between collections). */
  memory: { peakRssBytes: number; peakHeapBytes: number };
}

/**
 * The prepared job: shuffled documents, tokenizer, layout and initial parameters, all drawn from
 * one PyRandom in microgpt.py's order (shuffle, then parameters, later the samples).
 */
export function prepareJob(config: TrainConfig, dataset: Dataset) {
  const rng = new PyRandom(config.seed);
  const docs = [...dataset.docs];
  rng.shuffle(docs);
  const tokenizer = new Tokenizer(docs);
  const layout = modelLayout(config, tokenizer.vocabSize);
  const params = initParams(layout, rng, config.initStd);
  return { rng, docs, tokenizer, layout, params };
}

export function train(opts: TrainOptions): TrainResult {
  const { engine, config, dataset } = opts;
  const timers = opts.phaseTimers ?? true;
  const { rng, docs, tokenizer, layout, params } = prepareJob(config, dataset);
  engine.init(params);
  opts.onStart?.({ docs: docs.length, vocabSize: tokenizer.vocabSize, numParams: layout.numParams });
  const grads = new Float64Array(layout.numParams);
  const adam = new Adam(layout.numParams, config);
  const softmax = timers ? new PhaseTimer() : null;

  const losses: number[] = [];
  const lossOut = new Float64Array(1);
  let forward = 0;
  let backward = 0;
  let update = 0;
  let total = 0;
  let nodesSum = 0;
  let nodesMax = 0;
  let edgesSum = 0;
  let edgesMax = 0;
  let vectorOpsSum: number | null = 0;
  let flopsSum: number | null = 0;
  let peakHeap = 0;

  const steps = Math.min(opts.stopAfter ?? config.steps, config.steps);
  for (let step = 0; step < steps; step++) {
    const tokens = tokenizer.encodeDocument(docs[step % docs.length]);
    const t0 = performance.now();
    engine.reset();
    const loss = documentLoss(engine, layout, config, tokens, softmax);
    engine.read(loss, lossOut);
    const t1 = timers ? performance.now() : 0;
    engine.backward(loss);
    const t2 = timers ? performance.now() : 0;
    engine.readGrads(grads);
    adam.update(params, grads, step);
    engine.writeParams(params);
    const t3 = performance.now();
    total += t3 - t0;
    if (timers) {
      forward += t1 - t0;
      backward += t2 - t1;
      update += t3 - t2;
    }

    const stats = engine.graphStats();
    nodesSum += stats.nodes;
    edgesSum += stats.edges;
    nodesMax = Math.max(nodesMax, stats.nodes);
    edgesMax = Math.max(edgesMax, stats.edges);
    vectorOpsSum = stats.vectorOps === undefined || vectorOpsSum === null ? null : vectorOpsSum + stats.vectorOps;
    flopsSum = stats.flops === undefined || flopsSum === null ? null : flopsSum + stats.flops;
    if (step % 10 === 0 || step === steps - 1) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    losses.push(lossOut[0]);
    opts.onStep?.(step + 1, lossOut[0]);
  }

  const samples: string[] = [];
  for (let i = 0; i < config.samples; i++) {
    samples.push(tokenizer.decode(sampleTokens(engine, layout, config, tokenizer.bos, tokenizer.vocabSize, rng)));
  }

  const last = losses.slice(-100);
  return {
    engine: opts.engineName,
    config,
    seed: config.seed,
    dataset: { source: dataset.source, docs: dataset.docs.length, sha256: dataset.sha256 },
    vocabSize: tokenizer.vocabSize,
    numParams: layout.numParams,
    losses,
    finalLoss: losses[losses.length - 1],
    meanLossLast100: last.reduce((a, b) => a + b, 0) / last.length,
    samples,
    nodesPerStep: { mean: nodesSum / steps, max: nodesMax },
    edgesPerStep: { mean: edgesSum / steps, max: edgesMax },
    vectorOpsPerStep: vectorOpsSum === null ? null : vectorOpsSum / steps,
    flopsPerStep: flopsSum === null ? null : flopsSum / steps,
    gflops: flopsSum === null ? null : flopsSum / (total * 1e6),
    timingMs: softmax
      ? { total, forward: forward - softmax.ms, softmax: softmax.ms, backward, update }
      : { total, forward: null, softmax: null, backward: null, update: null },
    msPerStep: total / steps,
    memory: { peakRssBytes: process.resourceUsage().maxRSS * 1024, peakHeapBytes: peakHeap },
  };
}
