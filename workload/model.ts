import type { Engine, ParamMatrix, StepCapture } from '../engines/engine.ts';
import type { TrainConfig } from './config.ts';
import type { PyRandom } from './pyrandom.ts';
import type { PhaseTimer } from './phase-timer.ts';

interface LayerWeights {
  readonly attnWq: ParamMatrix;
  readonly attnWk: ParamMatrix;
  readonly attnWv: ParamMatrix;
  readonly attnWo: ParamMatrix;
  readonly mlpFc1: ParamMatrix;
  readonly mlpFc2: ParamMatrix;
}

/** Where each weight matrix lives in the flat parameter vector: microgpt.py's state_dict order. */
export interface ModelLayout {
  readonly wte: ParamMatrix;
  readonly wpe: ParamMatrix;
  readonly lmHead: ParamMatrix;
  readonly layers: readonly LayerWeights[];
  /** Every matrix in initialisation order. */
  readonly matrices: readonly ParamMatrix[];
  readonly numParams: number;
}

export function modelLayout(cfg: TrainConfig, vocabSize: number): ModelLayout {
  const matrices: ParamMatrix[] = [];
  let offset = 0;
  const matrix = (name: string, rows: number, cols: number): ParamMatrix => {
    const m = { name, offset, rows, cols };
    offset += rows * cols;
    matrices.push(m);
    return m;
  };
  const e = cfg.nEmbd;
  const wte = matrix('wte', vocabSize, e);
  const wpe = matrix('wpe', cfg.blockSize, e);
  const lmHead = matrix('lm_head', vocabSize, e);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.nLayer; i++) {
    layers.push({
      attnWq: matrix(`layer${i}.attn_wq`, e, e),
      attnWk: matrix(`layer${i}.attn_wk`, e, e),
      attnWv: matrix(`layer${i}.attn_wv`, e, e),
      attnWo: matrix(`layer${i}.attn_wo`, e, e),
      mlpFc1: matrix(`layer${i}.mlp_fc1`, 4 * e, e),
      mlpFc2: matrix(`layer${i}.mlp_fc2`, e, 4 * e),
    });
  }
  return { wte, wpe, lmHead, layers, matrices, numParams: offset };
}

/** gauss(0, std) for every parameter, matrix by matrix, row by row. */
export function initParams(layout: ModelLayout, rng: PyRandom, std: number): Float64Array {
  const params = new Float64Array(layout.numParams);
  for (let i = 0; i < params.length; i++) params[i] = rng.gauss(0, std);
  return params;
}

/** Per-layer KV cache: the key and value vectors of every position so far. */
type KvCache<V> = { keys: V[]; values: V[] }[];

function emptyCache<V>(cfg: TrainConfig): KvCache<V> {
  return Array.from({ length: cfg.nLayer }, () => ({ keys: [], values: [] }));
}

/**
 * microgpt.py's gpt(): the logits for the token at posId, appending its keys and values to the cache.
 * `softmaxTimer`, when given, brackets every softmax so the trainer can report it as its own phase.
 */
export function gptForward<V>(
  engine: Engine<V>,
  layout: ModelLayout,
  cfg: TrainConfig,
  tokenId: number,
  posId: number,
  cache: KvCache<V>,
  softmaxTimer: PhaseTimer | null,
): V {
  const headDim = cfg.nEmbd / cfg.nHead;
  let x = engine.add(engine.row(layout.wte, tokenId), engine.row(layout.wpe, posId));
  x = engine.rmsnorm(x, cfg.rmsEps);
  for (let li = 0; li < cfg.nLayer; li++) {
    const w = layout.layers[li];
    const kv = cache[li];
    let residual = x;
    x = engine.rmsnorm(x, cfg.rmsEps);
    const q = engine.linear(x, w.attnWq);
    kv.keys.push(engine.linear(x, w.attnWk));
    kv.values.push(engine.linear(x, w.attnWv));
    const heads: V[] = [];
    for (let h = 0; h < cfg.nHead; h++) {
      const offset = h * headDim;
      const scores = engine.attnScores(q, kv.keys, offset, headDim);
      softmaxTimer?.start();
      const weights = engine.softmax(scores);
      softmaxTimer?.stop();
      heads.push(engine.attnMix(weights, kv.values, offset, headDim));
    }
    x = engine.add(engine.linear(engine.concat(heads), w.attnWo), residual);
    residual = x;
    x = engine.rmsnorm(x, cfg.rmsEps);
    x = engine.relu(engine.linear(x, w.mlpFc1));
    x = engine.add(engine.linear(x, w.mlpFc2), residual);
  }
  return engine.linear(x, layout.lmHead);
}

/** The training loss of one tokenized document: mean over positions of −log p(next token). */
export function documentLoss<V>(
  engine: Engine<V>,
  layout: ModelLayout,
  cfg: TrainConfig,
  tokens: readonly number[],
  softmaxTimer: PhaseTimer | null,
): V {
  const n = Math.min(cfg.blockSize, tokens.length - 1);
  const cache = emptyCache<V>(cfg);
  const losses: V[] = [];
  for (let pos = 0; pos < n; pos++) {
    const logits = gptForward(engine, layout, cfg, tokens[pos], pos, cache, softmaxTimer);
    softmaxTimer?.start();
    losses.push(engine.crossEntropy(logits, tokens[pos + 1]));
    softmaxTimer?.stop();
  }
  return engine.mean(losses);
}

/**
 * documentLoss through the engine's step capture when it has one: the step for a new document length
 * is recorded once over placeholder tokens, then every step of that length is replayed with its own.
 */
export function stepLoss<V>(
  engine: Engine<V>,
  layout: ModelLayout,
  cfg: TrainConfig,
  tokens: readonly number[],
  softmaxTimer: PhaseTimer | null,
): V {
  const capture = engine.capture;
  if (capture === undefined) return documentLoss(engine, layout, cfg, tokens, softmaxTimer);
  if (!capture.has(tokens.length)) recordStep(engine, capture, layout, cfg, tokens.length);
  return capture.replay(tokens);
}

/** Apart from stepLoss: the closure's context would otherwise be allocated on every step. */
function recordStep<V>(
  engine: Engine<V>,
  capture: StepCapture<V>,
  layout: ModelLayout,
  cfg: TrainConfig,
  length: number,
) {
  const placeholders = Array.from({ length }, (_, j) => ~j);
  capture.record(length, () => documentLoss(engine, layout, cfg, placeholders, null));
}

/** Where a training step's forward pass ended (performance.now()), for the trainer's phase split. */
export interface StepMarks {
  forwardEnd: number;
}

/**
 * One training step's loss (into `lossOut`) and parameter gradients (for `readGrads`), after
 * `engine.reset()`: stepLoss, read, then backward; or, for an engine that differentiates a function,
 * the same stepLoss inside its `valueAndGrad`, one pass for both. `marks.forwardEnd` is set when the
 * model's forward pass has returned (with valueAndGrad, before the library's gradient pass).
 */
export function trainingStep<V>(
  engine: Engine<V>,
  layout: ModelLayout,
  cfg: TrainConfig,
  tokens: readonly number[],
  softmaxTimer: PhaseTimer | null,
  lossOut: Float64Array,
  marks: StepMarks | null,
): void {
  if (engine.valueAndGrad !== undefined) {
    differentiatedStep(engine, engine.valueAndGrad, layout, cfg, tokens, softmaxTimer, lossOut, marks);
    return;
  }
  const loss = stepLoss(engine, layout, cfg, tokens, softmaxTimer);
  engine.read(loss, lossOut);
  if (marks !== null) marks.forwardEnd = performance.now();
  engine.backward(loss);
}

/** Apart from trainingStep, as recordStep is: its closure's context would be allocated on every tape step too. */
function differentiatedStep<V>(
  engine: Engine<V>,
  valueAndGrad: NonNullable<Engine<V>['valueAndGrad']>,
  layout: ModelLayout,
  cfg: TrainConfig,
  tokens: readonly number[],
  softmaxTimer: PhaseTimer | null,
  lossOut: Float64Array,
  marks: StepMarks | null,
): void {
  const loss = valueAndGrad(() => {
    const forward = stepLoss(engine, layout, cfg, tokens, softmaxTimer);
    if (marks !== null) marks.forwardEnd = performance.now();
    return forward;
  });
  engine.read(loss, lossOut);
}

/**
 * One sample as microgpt.py draws it: from BOS, softmax(logits / T) and `random.choices`, until BOS
 * or block_size tokens. The softmax runs on plain numbers with the same float operations as the graph.
 */
/** Sampling met logits that are not finite: the trained model has diverged, there is nothing to draw from. */
export class NonFiniteLogits extends Error {
  override readonly name = 'NonFiniteLogits';
  constructor(readonly position: number) {
    super(`the logits are not finite at position ${position}`);
  }
}

export function sampleTokens<V>(
  engine: Engine<V>,
  layout: ModelLayout,
  cfg: TrainConfig,
  bos: number,
  vocabSize: number,
  rng: PyRandom,
): number[] {
  const cache = emptyCache<V>(cfg);
  const logits = new Float64Array(vocabSize);
  const probs = new Float64Array(vocabSize);
  const invT = Math.pow(cfg.temperature, -1);
  const out: number[] = [];
  let token = bos;
  engine.reset();
  for (let pos = 0; pos < cfg.blockSize; pos++) {
    engine.read(gptForward(engine, layout, cfg, token, pos, cache, null), logits);
    let max = -Infinity;
    for (let i = 0; i < vocabSize; i++) max = Math.max(max, (logits[i] *= invT));
    let total = 0;
    for (let i = 0; i < vocabSize; i++) total += probs[i] = Math.exp(logits[i] + -max);
    if (!Number.isFinite(total)) throw new NonFiniteLogits(pos);
    const inv = Math.pow(total, -1);
    for (let i = 0; i < vocabSize; i++) probs[i] *= inv;
    token = rng.choiceIndex(probs);
    if (token === bos) break;
    out.push(token);
  }
  return out;
}
