import type { Engine, GraphStats } from '../engines/engine.ts';
import type { TrainConfig } from '../workload/config.ts';
import { Tokenizer, type Dataset } from '../workload/dataset.ts';
import { initParams, modelLayout, NonFiniteLogits, sampleTokens, trainingStep } from '../workload/model.ts';
import { PhaseTimer } from '../workload/phase-timer.ts';
import { PyRandom } from '../workload/pyrandom.ts';
import { EngineUpdate } from './update.ts';

export interface TrainOptions {
  readonly engineName: string;
  readonly engine: Engine;
  readonly config: TrainConfig;
  readonly dataset: Dataset;
  /** Time forward/softmax/backward/update separately (default true); off leaves only the total. */
  readonly phaseTimers?: boolean;
  /**
   * Ask the engine for its graph's size after every step (default true). Untimed, but a profile
   * would show it: profiles turn it off, and nodes and edges per step are then 0.
   */
  readonly graphStats?: boolean;
  /** Run only the first N steps of the `config.steps` schedule (default: all of them). */
  readonly stopAfter?: number;
  /** Called once the job is prepared, before the first step. */
  readonly onStart?: (job: { docs: number; vocabSize: number; numParams: number }) => void;
  /** Called after every step with the 1-based step number and its loss. */
  readonly onStep?: (step: number, loss: number) => void;
}

/**
 * The run diverged: a step's loss (an onStep callback's to check and throw) or, after the last step,
 * the parameters stopped being finite. Thrown, it stops the run before sampling.
 */
export class DivergedError extends Error {
  override readonly name = 'DivergedError';
  constructor(
    /** The 1-based step whose loss, or whose update's parameters, are not finite. */
    readonly step: number,
    /** That step's loss: NaN or ±Infinity, or finite when it was the parameters that diverged. */
    readonly loss: number,
    message: string,
  ) {
    super(message);
  }
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
  /**
   * Means over the steps of the engine's vector operations and flops (forward + backward); null if it
   * doesn't count them.
   */
  vectorOpsPerStep: number | null;
  flopsPerStep: number | null;
  /** Counted flops over the training time, in 1e9 per second; null if the engine doesn't count flops. */
  gflops: number | null;
  /**
   * total = forward + softmax + backward + update: the training time, sampling excluded. The phases
   * are null without phase timers.
   */
  timingMs: {
    total: number;
    forward: number | null;
    softmax: number | null;
    backward: number | null;
    update: number | null;
  };
  msPerStep: number;
  /**
   * How the engine computed the gradients, which says what the phases mean: 'tape' (forward, then
   * backward) or 'function' (valueAndGrad: `forward` until the model's function returned, `backward`
   * the library's gradient pass after it within the same call, with the loss's read).
   */
  autograd: 'tape' | 'function';
  /**
   * The process's peak resident set; the largest heap in use seen after every 10th step (sampled: the
   * heap saw-tooths between collections).
   */
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

type Job = ReturnType<typeof prepareJob>;

/** What the step loop measures besides the losses: phase times, graph sizes, the heap's peak. */
class StepStats {
  forward = 0;
  backward = 0;
  update = 0;
  total = 0;
  private nodesSum = 0;
  private nodesMax = 0;
  private edgesSum = 0;
  private edgesMax = 0;
  /** Null once a step's engine did not count them. */
  private vectorOps: number | null = 0;
  private flops: number | null = 0;
  private peakHeap = 0;

  addGraph(g: GraphStats): void {
    this.nodesSum += g.nodes;
    this.edgesSum += g.edges;
    this.nodesMax = Math.max(this.nodesMax, g.nodes);
    this.edgesMax = Math.max(this.edgesMax, g.edges);
    this.vectorOps = g.vectorOps === undefined || this.vectorOps === null ? null : this.vectorOps + g.vectorOps;
    this.flops = g.flops === undefined || this.flops === null ? null : this.flops + g.flops;
  }

  sampleHeap(): void {
    this.peakHeap = Math.max(this.peakHeap, process.memoryUsage().heapUsed);
  }

  /** The result's figures over `steps` steps; `softmax` is the softmax timer, null without phase timers. */
  figures(steps: number, softmax: PhaseTimer | null) {
    const { total, vectorOps, flops } = this;
    return {
      nodesPerStep: { mean: this.nodesSum / steps, max: this.nodesMax },
      edgesPerStep: { mean: this.edgesSum / steps, max: this.edgesMax },
      vectorOpsPerStep: vectorOps === null ? null : vectorOps / steps,
      flopsPerStep: flops === null ? null : flops / steps,
      gflops: flops === null ? null : flops / (total * 1e6),
      timingMs: softmax
        ? {
            total,
            forward: this.forward - softmax.ms,
            softmax: softmax.ms,
            backward: this.backward,
            update: this.update,
          }
        : { total, forward: null, softmax: null, backward: null, update: null },
      msPerStep: total / steps,
      memory: { peakRssBytes: process.resourceUsage().maxRSS * 1024, peakHeapBytes: this.peakHeap },
    };
  }
}

/** microgpt.py's training loop: forward, backward and Adam for `steps` documents, timed. */
function runSteps(opts: TrainOptions, job: Job, steps: number, softmax: PhaseTimer | null) {
  const { engine, config } = opts;
  const { docs, tokenizer, layout, params } = job;
  const timers = softmax !== null;
  const updater = new EngineUpdate(engine, config, params);
  const stats = new StepStats();
  const losses: number[] = [];
  const lossOut = new Float64Array(1);
  const marks = timers ? { forwardEnd: 0 } : null;
  for (let step = 0; step < steps; step++) {
    const tokens = tokenizer.encodeDocument(docs[step % docs.length]);
    const t0 = performance.now();
    engine.reset();
    trainingStep(engine, layout, config, tokens, softmax, lossOut, marks);
    const t1 = marks?.forwardEnd ?? 0;
    const t2 = timers ? performance.now() : 0;
    updater.update(step);
    const t3 = performance.now();
    stats.total += t3 - t0;
    if (timers) {
      stats.forward += t1 - t0;
      stats.backward += t2 - t1;
      stats.update += t3 - t2;
    }
    if (opts.graphStats ?? true) stats.addGraph(engine.graphStats());
    if (step % 10 === 0 || step === steps - 1) stats.sampleHeap();
    losses.push(lossOut[0]);
    opts.onStep?.(step + 1, lossOut[0]);
  }
  updater.syncParams();
  return { losses, stats };
}

export function train(opts: TrainOptions): TrainResult {
  const { engine, config, dataset } = opts;
  const job = prepareJob(config, dataset);
  const { rng, docs, tokenizer, layout } = job;
  engine.init(job.params);
  // Node loads the clock's module (perf_hooks, a dozen modules) when `performance` is first read:
  // here, not in step 1, whose time (and a count run's training instructions) it would join.
  performance.now();
  opts.onStart?.({ docs: docs.length, vocabSize: tokenizer.vocabSize, numParams: layout.numParams });
  const softmax = (opts.phaseTimers ?? true) ? new PhaseTimer() : null;
  const steps = Math.min(opts.stopAfter ?? config.steps, config.steps);
  const { losses, stats } = runSteps(opts, job, steps, softmax);
  // Finite losses can still leave the last update's parameters non-finite, and sampling can't draw from them.
  if (config.samples > 0 && steps > 0 && !job.params.every(Number.isFinite)) {
    const message = `the parameters stopped being finite in the update of step ${steps} of ${config.steps}`;
    throw new DivergedError(steps, losses[steps - 1], message);
  }

  const samples: string[] = [];
  try {
    for (let i = 0; i < config.samples; i++) {
      samples.push(tokenizer.decode(sampleTokens(engine, layout, config, tokenizer.bos, tokenizer.vocabSize, rng)));
    }
  } catch (err) {
    if (!(err instanceof NonFiniteLogits)) throw err;
    throw new DivergedError(steps, losses[steps - 1], `sampling: ${err.message}`);
  }
  const last = losses.slice(-100);
  return {
    engine: opts.engineName,
    config,
    seed: config.seed,
    // Hashed when read (a timed run's result is sent, and read, whole): a count run, which sends only
    // its steps, then never loads node:crypto, about 35M instructions of its whole-process count.
    dataset: {
      source: dataset.source,
      docs: dataset.docs.length,
      get sha256() {
        return dataset.sha256;
      },
    },
    vocabSize: tokenizer.vocabSize,
    numParams: layout.numParams,
    losses,
    finalLoss: losses[losses.length - 1],
    meanLossLast100: last.reduce((a, b) => a + b, 0) / last.length,
    samples,
    ...stats.figures(steps, softmax),
    autograd: engine.valueAndGrad === undefined ? 'tape' : 'function',
  };
}
