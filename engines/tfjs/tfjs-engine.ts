/**
 * TensorFlow.js (tfjs-core 4.22 with its CPU or WebAssembly backend) behind the Engine interface:
 * every operation is a tfjs op on float32 tensors, run eagerly, and the gradients come from tfjs's own
 * autograd (`tf.variableGrads`) through the `valueAndGrad` capability. A general library at this
 * model's size: each op is a kernel call with shape checks, a tape record and a tensor of its own.
 *
 * This module is not imported directly: engines/tfjs/build.ts bundles it with tfjs's ES module builds
 * (tfjs-core's CommonJS build registers no gradients) into engines/tfjs/build/tfjs-engine.mjs, which
 * engines/tfjs.ts loads when a tfjs engine is created.
 */
import * as tf from '@tensorflow/tfjs-core';
// The union package @tensorflow/tfjs registers the gradients; tfjs-core alone does not. An ES module
// file: it registers them with the same tfjs-core only in a bundle made from the ES module builds.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { attnScale, type Engine, type GraphStats, type ParamMatrix } from '../engine.ts';

export type TfjsBackend = 'cpu' | 'wasm';

type Vec = tf.Tensor1D;

/** The .wasm binaries ship in tfjs-backend-wasm's dist/ folder; a bundle's own __dirname is elsewhere. */
function wasmDir(): string {
  const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  return dirname(main) + '/';
}

let wasmPathsSet = false;

/** Selects `backend` (tfjs's backend is global to the process; every tfjs engine selects its own). */
async function use(backend: TfjsBackend): Promise<void> {
  if (backend === 'wasm' && !wasmPathsSet) {
    setWasmPaths(wasmDir());
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js could not start its ${backend} backend`);
  await tf.ready();
}

class TfjsEngine implements Engine<Vec> {
  private params: tf.Variable<tf.Rank.R1> | null = null;
  /** This step's matrices, sliced from the parameter vector once per step (inside the gradient's tape). */
  private readonly matrices = new Map<string, tf.Tensor2D>();
  private readonly grads: Float32Array[] = [];
  private gradValues = new Float32Array(0);
  private inScope = false;
  private readonly stats: GraphStats = { nodes: 0, edges: 0 };

  constructor(readonly backend: TfjsBackend) {}

  init(params: Float64Array): void {
    this.endStep();
    this.params?.dispose();
    this.params = tf.variable(tf.tensor1d(Float32Array.from(params)), true, undefined, 'float32');
    this.gradValues = new Float32Array(params.length);
    this.grads.length = 0;
  }

  /** Disposes the previous step's tensors (tfjs frees them only when told) and opens a scope for this one. */
  reset(): void {
    this.endStep();
    tf.engine().startScope();
    this.inScope = true;
    this.gradValues.fill(0);
  }

  private endStep(): void {
    this.matrices.clear();
    if (this.inScope) tf.engine().endScope();
    this.inScope = false;
  }

  private matrix(w: ParamMatrix): tf.Tensor2D {
    let m = this.matrices.get(w.name);
    if (m === undefined) {
      m = tf.reshape(tf.slice(this.params!, w.offset, w.rows * w.cols), [w.rows, w.cols]);
      this.matrices.set(w.name, m);
    }
    return m;
  }

  row(w: ParamMatrix, r: number): Vec {
    return tf.reshape(tf.slice(this.matrix(w), [r, 0], [1, w.cols]), [w.cols]);
  }
  add(a: Vec, b: Vec): Vec {
    return tf.add(a, b);
  }
  rmsnorm(x: Vec, eps: number): Vec {
    return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x)), eps)));
  }
  linear(x: Vec, w: ParamMatrix): Vec {
    return tf.reshape(tf.matMul(this.matrix(w), tf.reshape(x, [w.cols, 1])), [w.rows]);
  }
  relu(x: Vec): Vec {
    return tf.relu(x);
  }
  /** The cached keys stacked into a matrix now: the model appends to the list after this call. */
  attnScores(q: Vec, keys: readonly Vec[], offset: number, size: number): Vec {
    const k = tf.slice(tf.stack(keys as Vec[]) as tf.Tensor2D, [0, offset], [keys.length, size]);
    const qh = tf.reshape(tf.slice(q, offset, size), [size, 1]);
    return tf.reshape(tf.mul(tf.matMul(k, qh), attnScale(size)), [keys.length]);
  }
  softmax(x: Vec): Vec {
    return tf.softmax(x);
  }
  attnMix(weights: Vec, values: readonly Vec[], offset: number, size: number): Vec {
    const v = tf.slice(tf.stack(values as Vec[]) as tf.Tensor2D, [0, offset], [values.length, size]);
    return tf.reshape(tf.matMul(tf.reshape(weights, [1, values.length]), v), [size]);
  }
  concat(parts: readonly Vec[]): Vec {
    return tf.concat(parts as Vec[]);
  }
  crossEntropy(logits: Vec, target: number): Vec {
    return tf.neg(tf.slice(tf.logSoftmax(logits), target, 1));
  }
  sum(x: Vec): Vec {
    return tf.reshape(tf.sum(x), [1]);
  }
  mean(xs: readonly Vec[]): Vec {
    return tf.reshape(tf.mean(tf.concat(xs as Vec[])), [1]);
  }

  read(x: Vec, out: Float64Array): void {
    out.set(x.dataSync());
  }

  /** The loss and the gradients in tfjs's one pass: the model's ops are taped as they run, then differentiated. */
  readonly valueAndGrad = (run: () => Vec): Vec => {
    const { value, grads } = tf.variableGrads(() => tf.reshape(run(), []) as tf.Scalar, [this.params!]);
    this.gradValues.set(grads[this.params!.name].dataSync());
    return tf.reshape(value, [1]);
  };

  backward(): void {
    throw new Error('tfjs engines differentiate a function: call valueAndGrad, not backward');
  }
  readGrads(out: Float64Array): void {
    out.set(this.gradValues);
  }
  writeParams(src: Float64Array): void {
    tf.tidy(() => this.params!.assign(tf.tensor1d(Float32Array.from(src))));
  }
  /** tfjs does not expose its tape: no node or edge counts. */
  graphStats(): GraphStats {
    return this.stats;
  }
}

/** A tfjs engine on `backend`, once the backend is ready (tfjs-wasm compiles its module asynchronously). */
export async function createTfjsEngine(backend: TfjsBackend): Promise<Engine> {
  await use(backend);
  return new TfjsEngine(backend) as Engine<Vec> as Engine;
}
