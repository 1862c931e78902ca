/**
 * The one interface every autograd engine implements.
 *
 * The model speaks only in the vector-level operations below. A scalar engine gets them for free
 * from `ScalarEngine`, which builds each from scalar primitives exactly as microgpt.py's `Value`
 * does; a variant overrides the ones it fuses (`linear`, say), and a vector-level engine implements
 * them all directly. `V` is the engine's own handle for a vector and is opaque to the model.
 */

/** A row-major matrix inside the flat parameter vector. */
export interface ParamMatrix {
  readonly name: string;
  readonly offset: number;
  readonly rows: number;
  readonly cols: number;
}

/** Size of the graph (or tape) the last backward pass worked through. */
export interface GraphStats {
  readonly nodes: number;
  readonly edges: number;
  /** Vector operations on the tape (vector-level engines only). */
  readonly vectorOps?: number;
  /** Floating-point operations of forward + backward, counted from the shapes (vector-level engines only). */
  readonly flops?: number;
}

/** Adam's hyperparameters and the schedule's length (the linear decay runs over `steps`). */
export interface AdamConfig {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsAdam: number;
  readonly steps: number;
}

/**
 * An update run inside the engine, for one whose parameters live outside the JS heap: microgpt.py's
 * Adam (workload/adam.ts, float operation for float operation) on the engine's own parameters with
 * its own gradients, the moments kept by the engine from `init` on.
 */
export interface FusedAdam {
  /** The update of step `step` (from 0) with the last backward pass's gradients. */
  update(cfg: AdamConfig, step: number): void;
  /** The current parameters, copied into `out`. */
  readParams(out: Float64Array): void;
}

/**
 * A training step recorded once and then run by the engine itself, for one whose per-operation calls
 * cost more than the operations: keyed by the document's length in tokens, which fixes every operation
 * of the step; the token ids are what a replay takes. While `record` runs the model, `row` and
 * `crossEntropy` receive placeholders for the tokens: ~j (−1 − j, never a token id) for token j.
 */
export interface StepCapture<V = unknown> {
  /** Whether a step of documents of `length` tokens is recorded (`init` forgets every recording). */
  has(length: number): boolean;
  /** Records the step `run` builds: the model's loss over placeholder tokens ~0 … ~(length − 1). */
  record(length: number, run: () => V): void;
  /** The recorded step's forward pass over `tokens`: its loss, for `read` and `backward` as usual. */
  replay(tokens: readonly number[]): V;
}

/**
 * How a library that differentiates a function (TensorFlow.js's `variableGrads`, JAX's
 * `value_and_grad`) takes a training step: `run` runs the model on the engine's operations and returns
 * the loss; the engine runs it once, computing the loss and every parameter gradient in that one
 * pass, and returns the loss for `read`. `backward` is then not called; `readGrads` reads the
 * gradients as after a backward pass. `run` is called exactly once, synchronously, before
 * `valueAndGrad` returns: the trainer's `forward` phase ends when it returns, and `backward` is the
 * rest of the call, the library's gradient pass (docs/engines.md, "Engines that differentiate a
 * function").
 */
export type ValueAndGrad<V> = (run: () => V) => V;

export interface Engine<V = unknown> {
  /** Copies in the initial parameter values; the engine owns its storage from then on. */
  init(params: Float64Array): void;
  /** Drops the previous graph and zeroes the parameter gradients: call before each forward pass. */
  reset(): void;

  /** Row `r` of a parameter matrix (an embedding lookup). */
  row(w: ParamMatrix, r: number): V;
  /** Elementwise a + b (embedding sum, residual connections). */
  add(a: V, b: V): V;
  /** x / sqrt(mean(x²) + eps). */
  rmsnorm(x: V, eps: number): V;
  /** w·x for w with `rows` outputs and `cols` inputs. */
  linear(x: V, w: ParamMatrix): V;
  relu(x: V): V;
  /**
   * One head's scaled scores: (q[o..o+n) · k_t[o..o+n)) · attnScale(n) for each cached key k_t.
   * `keys` (and attnMix's `values`) are the model's live KV-cache lists: it appends to them after the
   * call, so an engine that uses them later (a deferred or recording one) must copy them.
   */
  attnScores(q: V, keys: readonly V[], offset: number, size: number): V;
  /** exp(x − max x) / Σ exp(x − max x). */
  softmax(x: V): V;
  /** One head's output: Σ_t w_t · v_t[o..o+n). */
  attnMix(weights: V, values: readonly V[], offset: number, size: number): V;
  /** The head outputs side by side. */
  concat(parts: readonly V[]): V;
  /** −log softmax(logits)[target], a vector of length 1. */
  crossEntropy(logits: V, target: number): V;
  /** Σ x_i, a vector of length 1 (micro-benchmarks reduce an operation's output with it). */
  sum(x: V): V;
  /** The mean of length-1 vectors, a vector of length 1. */
  mean(xs: readonly V[]): V;

  /** Forward values of x, copied into `out` (length ≥ x's length). */
  read(x: V, out: Float64Array): void;
  /** Gradients of the loss (a length-1 vector) with respect to every parameter. */
  backward(loss: V): void;
  /** Parameter gradients from the last backward pass, copied into `out`. */
  readGrads(out: Float64Array): void;
  /** Replaces the parameter values (after an optimizer step). */
  writeParams(src: Float64Array): void;
  /** Nodes and edges of the graph the last backward pass handled (the engine may reuse the object). */
  graphStats(): GraphStats;
  /**
   * Optional. Given, the trainer calls `fusedAdam.update` instead of readGrads, Adam and writeParams
   * each step, and `readParams` after the last; other engines leave it out and take that default path.
   */
  readonly fusedAdam?: FusedAdam;
  /** Optional. Given, the scenarios take each step's loss through it (workload/model.ts's `stepLoss`). */
  readonly capture?: StepCapture<V>;
  /**
   * Optional, for an engine that differentiates a function: given, the trainer, the gradient check and
   * bench:micro's step call it with a function running the model instead of calling `backward`.
   */
  readonly valueAndGrad?: ValueAndGrad<V>;
}

/**
 * The float attention scores are multiplied by: microgpt.py's `/ head_dim**0.5` on a Value is `*
 * (head_dim**0.5)**-1`.
 */
export function attnScale(size: number): number {
  return Math.pow(Math.pow(size, 0.5), -1);
}
