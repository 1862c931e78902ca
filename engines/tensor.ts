import { attnScale, type Engine, type GraphStats, type ParamMatrix } from './engine.ts';
import { grown } from './typed-arrays.ts';

/**
 * A vector-level engine (MicroGPT-C's design): every operation works on whole vectors in one flat
 * Float64Array and records a single tape entry; backward sweeps the tape in reverse and runs each
 * operation's hand-derived gradient.
 *
 * A handle is a small integer naming a vector (offset and length in the arena). Parameters live at
 * the start of the arena, so `row` is a view into them, not a copy, and gradients flow straight into
 * the parameter gradients. Arena, tape and handle lists are reused from step to step and only grow
 * (doubling) until they fit the largest step, so steady-state steps allocate nothing.
 *
 * Forward values are computed with the same float operations in the same order as ScalarEngine's
 * graphs, so losses equal topo's bit for bit at equal parameters; only the gradients' summation order
 * differs.
 */

// Operation codes on the tape. A record is [op, out, a, b, c, d, e]; the fields per op are noted
// where the op is recorded.
const ADD = 0;
const RMSNORM = 1;
const LINEAR = 2;
const RELU = 3;
const SCORES = 4;
const SOFTMAX = 5;
const MIX = 6;
const CONCAT = 7;
const CROSS_ENTROPY = 8;
const SUM = 9;
const MEAN = 10;
const RECORD = 7;

/**
 * Floating-point operations of forward + backward, counted from the shapes: every add, subtract,
 * multiply, divide, max, comparison, exp, log and pow the kernels below perform counts as one.
 */
const FLOPS = {
  add: (n: number) => n + 2 * n,
  rmsnorm: (n: number) => 3 * n + 4 + (6 * n + 4),
  linear: (rows: number, cols: number) => 2 * rows * cols + 4 * rows * cols,
  relu: (n: number) => n + n,
  scores: (t: number, size: number) => t * (2 * size + 1) + 2 + (t * (4 * size + 1) + 2),
  softmax: (n: number) => 5 * n + 1 + 5 * n,
  mix: (t: number, size: number) => 2 * t * size + (4 * t * size + t),
  concat: (n: number) => 0 + n, // copying is free; backward adds each element back
  crossEntropy: (n: number) => 5 * n + 3 + 3 * n,
  sum: (n: number) => n + n,
  mean: (k: number) => k + 2 + (k + 2),
};

export class TensorEngine implements Engine<number> {
  private val = new Float64Array(0);
  private grad = new Float64Array(0);
  private paramGrads = new Float64Array(0);
  private numParams = 0;
  /** First free arena slot: parameters occupy [0, numParams), the step's vectors follow. */
  private top = 0;

  // Initial sizes fit the reference job's longest step twice over, so it never grows them: a growth
  // path first taken mid-run deoptimizes the code around it.
  private nodeOff = new Int32Array(1024);
  private nodeLen = new Int32Array(1024);
  private nodes = 0;

  private tape = new Int32Array(1024 * RECORD);
  private ops = 0;
  /** Handle lists (cached keys and values, concatenated parts, losses) referenced by tape records. */
  private lists = new Int32Array(4096);
  private listTop = 0;
  /** Scratch for linear's backward: the rows with a nonzero output gradient. */
  private liveRows = new Int32Array(64);
  private flops = 0;
  private edges = 0;
  private readonly stats = { nodes: 0, edges: 0, vectorOps: 0, flops: 0 };

  init(params: Float64Array): void {
    this.numParams = params.length;
    this.val = new Float64Array(params.length + 16384);
    this.grad = new Float64Array(this.val.length);
    this.val.set(params);
    this.paramGrads = this.grad.subarray(0, params.length);
    this.top = params.length;
    this.clearTape();
  }

  reset(): void {
    this.grad.fill(0, 0, this.top);
    this.top = this.numParams;
    this.clearTape();
  }

  row(w: ParamMatrix, r: number): number {
    return this.view(w.offset + r * w.cols, w.cols);
  }

  add(a: number, b: number): number {
    const n = this.nodeLen[a];
    const out = this.alloc(n, 0);
    addForward(this.val, this.nodeOff[a], this.nodeOff[b], this.nodeOff[out], n);
    this.record(ADD, out, a, b, 0, 0, 0, 2, FLOPS.add(n));
    return out;
  }

  rmsnorm(x: number, eps: number): number {
    const n = this.nodeLen[x];
    const out = this.alloc(n, 1); // the extra slot keeps the scale for backward
    rmsnormForward(this.val, this.nodeOff[x], this.nodeOff[out], n, eps);
    this.record(RMSNORM, out, x, 0, 0, 0, 0, 1, FLOPS.rmsnorm(n));
    return out;
  }

  linear(x: number, w: ParamMatrix): number {
    if (w.rows > this.liveRows.length) this.liveRows = new Int32Array(w.rows);
    const out = this.alloc(w.rows, 0);
    linearForward(this.val, w.offset, this.nodeOff[x], this.nodeOff[out], w.rows, w.cols);
    this.record(LINEAR, out, x, w.offset, w.rows, w.cols, 0, 2, FLOPS.linear(w.rows, w.cols));
    return out;
  }

  relu(x: number): number {
    const n = this.nodeLen[x];
    const out = this.alloc(n, 0);
    reluForward(this.val, this.nodeOff[x], this.nodeOff[out], n);
    this.record(RELU, out, x, 0, 0, 0, 0, 1, FLOPS.relu(n));
    return out;
  }

  attnScores(q: number, keys: readonly number[], offset: number, size: number): number {
    const t = keys.length;
    const out = this.alloc(t, 0);
    const list = this.pushList(keys);
    scoresForward(
      this.val,
      this.nodeOff,
      this.lists,
      this.nodeOff[q] + offset,
      list,
      t,
      offset,
      size,
      this.nodeOff[out],
    );
    this.record(SCORES, out, q, list, t, offset, size, t + 1, FLOPS.scores(t, size));
    return out;
  }

  softmax(x: number): number {
    const n = this.nodeLen[x];
    const out = this.alloc(n, 0);
    softmaxForward(this.val, this.nodeOff[x], this.nodeOff[out], n);
    this.record(SOFTMAX, out, x, 0, 0, 0, 0, 1, FLOPS.softmax(n));
    return out;
  }

  attnMix(weights: number, values: readonly number[], offset: number, size: number): number {
    const t = values.length;
    const out = this.alloc(size, 0);
    const list = this.pushList(values);
    mixForward(this.val, this.nodeOff, this.lists, this.nodeOff[weights], list, t, offset, size, this.nodeOff[out]);
    this.record(MIX, out, weights, list, t, offset, size, t + 1, FLOPS.mix(t, size));
    return out;
  }

  concat(parts: readonly number[]): number {
    let n = 0;
    for (let i = 0; i < parts.length; i++) n += this.nodeLen[parts[i]];
    const out = this.alloc(n, 0);
    const list = this.pushList(parts);
    let o = this.nodeOff[out];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      this.val.copyWithin(o, this.nodeOff[p], this.nodeOff[p] + this.nodeLen[p]);
      o += this.nodeLen[p];
    }
    this.record(CONCAT, out, list, parts.length, 0, 0, 0, parts.length, FLOPS.concat(n));
    return out;
  }

  crossEntropy(logits: number, target: number): number {
    const n = this.nodeLen[logits];
    const out = this.alloc(1, n); // the probabilities follow the loss, for backward
    crossEntropyForward(this.val, this.nodeOff[logits], this.nodeOff[out], n, target);
    this.record(CROSS_ENTROPY, out, logits, target, 0, 0, 0, 1, FLOPS.crossEntropy(n));
    return out;
  }

  sum(x: number): number {
    const n = this.nodeLen[x];
    const out = this.alloc(1, 0);
    const v = this.val;
    const xo = this.nodeOff[x];
    let acc = 0;
    for (let i = 0; i < n; i++) acc += v[xo + i];
    v[this.nodeOff[out]] = acc;
    this.record(SUM, out, x, 0, 0, 0, 0, 1, FLOPS.sum(n));
    return out;
  }

  mean(xs: readonly number[]): number {
    const k = xs.length;
    const out = this.alloc(1, 0);
    const list = this.pushList(xs);
    let acc = 0;
    for (let i = 0; i < k; i++) acc += this.val[this.nodeOff[xs[i]]];
    this.val[this.nodeOff[out]] = acc * (1 / k);
    this.record(MEAN, out, list, k, 0, 0, 0, k, FLOPS.mean(k));
    return out;
  }

  read(x: number, out: Float64Array): void {
    const off = this.nodeOff[x];
    for (let i = 0; i < this.nodeLen[x]; i++) out[i] = this.val[off + i];
  }

  backward(loss: number): void {
    const { val, grad, tape, nodeOff, nodeLen, lists } = this;
    grad[nodeOff[loss]] = 1;
    for (let op = this.ops - 1; op >= 0; op--) {
      const r = op * RECORD;
      const out = tape[r + 1];
      const a = tape[r + 2];
      const oo = nodeOff[out];
      switch (tape[r]) {
        case ADD:
          addBackward(grad, nodeOff[a], nodeOff[tape[r + 3]], oo, nodeLen[out]);
          break;
        case RMSNORM:
          rmsnormBackward(val, grad, nodeOff[a], oo, nodeLen[out]);
          break;
        case LINEAR:
          linearBackward(val, grad, this.liveRows, tape[r + 3], nodeOff[a], oo, tape[r + 4], tape[r + 5]);
          break;
        case RELU:
          reluBackward(val, grad, nodeOff[a], oo, nodeLen[out]);
          break;
        case SCORES:
          scoresBackward(
            val,
            grad,
            nodeOff,
            lists,
            nodeOff[a] + tape[r + 5],
            tape[r + 3],
            tape[r + 4],
            tape[r + 5],
            tape[r + 6],
            oo,
          );
          break;
        case SOFTMAX:
          softmaxBackward(val, grad, nodeOff[a], oo, nodeLen[out]);
          break;
        case MIX:
          mixBackward(val, grad, nodeOff, lists, nodeOff[a], tape[r + 3], tape[r + 4], tape[r + 5], tape[r + 6], oo);
          break;
        case CONCAT:
          concatBackward(grad, nodeOff, nodeLen, lists, a, tape[r + 3], oo);
          break;
        case CROSS_ENTROPY:
          crossEntropyBackward(val, grad, nodeOff[a], oo, nodeLen[a], tape[r + 3]);
          break;
        case SUM:
          for (let i = 0, xo = nodeOff[a], g = grad[oo]; i < nodeLen[a]; i++) grad[xo + i] += g;
          break;
        case MEAN:
          for (let i = 0, k = tape[r + 3], g = grad[oo] * (1 / k); i < k; i++) grad[nodeOff[lists[a + i]]] += g;
          break;
      }
    }
    const s = this.stats;
    s.nodes = this.nodes;
    s.edges = this.edges;
    s.vectorOps = this.ops;
    s.flops = this.flops;
  }

  readGrads(out: Float64Array): void {
    out.set(this.paramGrads);
  }

  writeParams(src: Float64Array): void {
    this.val.set(src);
  }

  /** The same object every time, updated by each backward pass: read it before the next one. */
  graphStats(): GraphStats {
    return this.stats;
  }

  private clearTape(): void {
    this.nodes = 0;
    this.ops = 0;
    this.listTop = 0;
    this.flops = 0;
    this.edges = 0;
  }

  /** A new vector of length n with `scratch` private slots after it. */
  private alloc(n: number, scratch: number): number {
    const off = this.top;
    this.top += n + scratch;
    if (this.top > this.val.length) this.growArena();
    return this.view(off, n);
  }

  private view(off: number, n: number): number {
    if (this.nodes === this.nodeOff.length) {
      this.nodeOff = grown(this.nodeOff, this.nodes * 2);
      this.nodeLen = grown(this.nodeLen, this.nodes * 2);
    }
    this.nodeOff[this.nodes] = off;
    this.nodeLen[this.nodes] = n;
    return this.nodes++;
  }

  private growArena(): void {
    const size = Math.max(this.top, this.val.length * 2);
    this.val = grown(this.val, size);
    this.grad = grown(this.grad, size);
    this.paramGrads = this.grad.subarray(0, this.numParams);
  }

  private pushList(handles: readonly number[]): number {
    const start = this.listTop;
    const end = start + handles.length;
    if (end > this.lists.length) this.lists = grown(this.lists, Math.max(end, this.lists.length * 2));
    for (let i = 0; i < handles.length; i++) this.lists[start + i] = handles[i];
    this.listTop = end;
    return start;
  }

  private record(
    op: number,
    out: number,
    a: number,
    b: number,
    c: number,
    d: number,
    e: number,
    inputs: number,
    flops: number,
  ): void {
    if ((this.ops + 1) * RECORD > this.tape.length) this.tape = grown(this.tape, this.tape.length * 2);
    const r = this.ops * RECORD;
    const t = this.tape;
    t[r] = op;
    t[r + 1] = out;
    t[r + 2] = a;
    t[r + 3] = b;
    t[r + 4] = c;
    t[r + 5] = d;
    t[r + 6] = e;
    this.ops++;
    this.edges += inputs;
    this.flops += flops;
  }
}

// Kernels: plain functions over (array, offset) so every call site stays monomorphic. Forward sums
// start from 0 and run in the scalar graphs' order, which makes their results identical to topo's.

function addForward(v: Float64Array, ao: number, bo: number, oo: number, n: number): void {
  for (let i = 0; i < n; i++) v[oo + i] = v[ao + i] + v[bo + i];
}

function addBackward(g: Float64Array, ao: number, bo: number, oo: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const d = g[oo + i];
    g[ao + i] += d;
    g[bo + i] += d;
  }
}

function rmsnormForward(v: Float64Array, xo: number, oo: number, n: number, eps: number): void {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += v[xo + i] * v[xo + i];
  const scale = Math.pow(acc * Math.pow(n, -1) + eps, -0.5);
  for (let i = 0; i < n; i++) v[oo + i] = v[xo + i] * scale;
  v[oo + n] = scale;
}

/** y = x·s with s = (Σx²/n + eps)^−½, so dx = s·dy − (s³/n)(dy·x)·x. */
function rmsnormBackward(v: Float64Array, g: Float64Array, xo: number, oo: number, n: number): void {
  const scale = v[oo + n];
  let dot = 0;
  for (let i = 0; i < n; i++) dot += g[oo + i] * v[xo + i];
  const c = ((scale * scale * scale) / n) * dot;
  for (let i = 0; i < n; i++) g[xo + i] += scale * g[oo + i] - c * v[xo + i];
}

/** Four rows at a time, for four independent sums in flight; each row still sums in order. */
function linearForward(v: Float64Array, wo: number, xo: number, oo: number, rows: number, cols: number): void {
  let r = 0;
  for (; r + 3 < rows; r += 4) {
    const b0 = wo + r * cols;
    const b1 = b0 + cols;
    const b2 = b1 + cols;
    const b3 = b2 + cols;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let i = 0; i < cols; i++) {
      const x = v[xo + i];
      a0 += v[b0 + i] * x;
      a1 += v[b1 + i] * x;
      a2 += v[b2 + i] * x;
      a3 += v[b3 + i] * x;
    }
    v[oo + r] = a0;
    v[oo + r + 1] = a1;
    v[oo + r + 2] = a2;
    v[oo + r + 3] = a3;
  }
  for (; r < rows; r++) {
    const base = wo + r * cols;
    let acc = 0;
    for (let i = 0; i < cols; i++) acc += v[base + i] * v[xo + i];
    v[oo + r] = acc;
  }
}

/**
 * dx += Wᵀ·dy and dW += dy ⊗ x. Rows whose dy is zero (units ReLU switched off) add nothing, so
 * only the others are gathered into `live`; they are then taken four at a time, which reads and
 * writes each dx element once per four rows.
 */
function linearBackward(
  v: Float64Array,
  g: Float64Array,
  live: Int32Array,
  wo: number,
  xo: number,
  oo: number,
  rows: number,
  cols: number,
): void {
  let n = 0;
  for (let r = 0; r < rows; r++) if (g[oo + r] !== 0) live[n++] = r;
  let k = 0;
  for (; k + 3 < n; k += 4) {
    const d0 = g[oo + live[k]];
    const d1 = g[oo + live[k + 1]];
    const d2 = g[oo + live[k + 2]];
    const d3 = g[oo + live[k + 3]];
    const b0 = wo + live[k] * cols;
    const b1 = wo + live[k + 1] * cols;
    const b2 = wo + live[k + 2] * cols;
    const b3 = wo + live[k + 3] * cols;
    for (let i = 0; i < cols; i++) {
      const x = v[xo + i];
      g[xo + i] += v[b0 + i] * d0 + v[b1 + i] * d1 + (v[b2 + i] * d2 + v[b3 + i] * d3);
      g[b0 + i] += d0 * x;
      g[b1 + i] += d1 * x;
      g[b2 + i] += d2 * x;
      g[b3 + i] += d3 * x;
    }
  }
  for (; k < n; k++) {
    const d = g[oo + live[k]];
    const base = wo + live[k] * cols;
    for (let i = 0; i < cols; i++) {
      g[xo + i] += v[base + i] * d;
      g[base + i] += d * v[xo + i];
    }
  }
}

function reluForward(v: Float64Array, xo: number, oo: number, n: number): void {
  for (let i = 0; i < n; i++) v[oo + i] = Math.max(0, v[xo + i]);
}

function reluBackward(v: Float64Array, g: Float64Array, xo: number, oo: number, n: number): void {
  for (let i = 0; i < n; i++) if (v[xo + i] > 0) g[xo + i] += g[oo + i];
}

function scoresForward(
  v: Float64Array,
  nodeOff: Int32Array,
  lists: Int32Array,
  qo: number,
  list: number,
  t: number,
  offset: number,
  size: number,
  oo: number,
): void {
  const inv = attnScale(size);
  for (let s = 0; s < t; s++) {
    const ko = nodeOff[lists[list + s]] + offset;
    let acc = 0;
    for (let j = 0; j < size; j++) acc += v[qo + j] * v[ko + j];
    v[oo + s] = acc * inv;
  }
}

function scoresBackward(
  v: Float64Array,
  g: Float64Array,
  nodeOff: Int32Array,
  lists: Int32Array,
  qo: number,
  list: number,
  t: number,
  offset: number,
  size: number,
  oo: number,
): void {
  const inv = attnScale(size);
  for (let s = 0; s < t; s++) {
    const ko = nodeOff[lists[list + s]] + offset;
    const d = g[oo + s] * inv;
    for (let j = 0; j < size; j++) {
      g[qo + j] += d * v[ko + j];
      g[ko + j] += d * v[qo + j];
    }
  }
}

/** exp(x − max) / Σ exp(x − max) into v[oo..oo+n), as the scalar graph computes it. */
function softmaxForward(v: Float64Array, xo: number, oo: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, v[xo + i]);
  let total = 0;
  for (let i = 0; i < n; i++) total += v[oo + i] = Math.exp(v[xo + i] + -max);
  const inv = Math.pow(total, -1);
  for (let i = 0; i < n; i++) v[oo + i] *= inv;
}

/** dx = p ⊙ (dy − p·dy). */
function softmaxBackward(v: Float64Array, g: Float64Array, xo: number, oo: number, n: number): void {
  let dot = 0;
  for (let i = 0; i < n; i++) dot += v[oo + i] * g[oo + i];
  for (let i = 0; i < n; i++) g[xo + i] += v[oo + i] * (g[oo + i] - dot);
}

function mixForward(
  v: Float64Array,
  nodeOff: Int32Array,
  lists: Int32Array,
  wo: number,
  list: number,
  t: number,
  offset: number,
  size: number,
  oo: number,
): void {
  for (let j = 0; j < size; j++) v[oo + j] = 0;
  // Position-major, yet each output still sums over positions in order.
  for (let s = 0; s < t; s++) {
    const w = v[wo + s];
    const vo = nodeOff[lists[list + s]] + offset;
    for (let j = 0; j < size; j++) v[oo + j] += w * v[vo + j];
  }
}

function mixBackward(
  v: Float64Array,
  g: Float64Array,
  nodeOff: Int32Array,
  lists: Int32Array,
  wo: number,
  list: number,
  t: number,
  offset: number,
  size: number,
  oo: number,
): void {
  for (let s = 0; s < t; s++) {
    const w = v[wo + s];
    const vo = nodeOff[lists[list + s]] + offset;
    let dw = 0;
    for (let j = 0; j < size; j++) {
      const d = g[oo + j];
      dw += d * v[vo + j];
      g[vo + j] += w * d;
    }
    g[wo + s] += dw;
  }
}

function concatBackward(
  g: Float64Array,
  nodeOff: Int32Array,
  nodeLen: Int32Array,
  lists: Int32Array,
  list: number,
  k: number,
  oo: number,
): void {
  let o = oo;
  for (let p = 0; p < k; p++) {
    const po = nodeOff[lists[list + p]];
    const n = nodeLen[lists[list + p]];
    for (let i = 0; i < n; i++) g[po + i] += g[o + i];
    o += n;
  }
}

/** −log softmax(x)[target]; the probabilities are kept after the loss for backward. */
function crossEntropyForward(v: Float64Array, xo: number, oo: number, n: number, target: number): void {
  softmaxForward(v, xo, oo + 1, n);
  v[oo] = -Math.log(v[oo + 1 + target]);
}

/** Softmax and cross-entropy fused: dx = g·(p − onehot(target)). */
function crossEntropyBackward(
  v: Float64Array,
  g: Float64Array,
  xo: number,
  oo: number,
  n: number,
  target: number,
): void {
  const d = g[oo];
  for (let i = 0; i < n; i++) g[xo + i] += d * (v[oo + 1 + i] - (i === target ? 1 : 0));
}
