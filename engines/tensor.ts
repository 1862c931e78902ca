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
 *
 * Each operation is one section of the class: its forward (the Engine method, which records the op and
 * counts its flops) and its backward (a private method). Adding one takes that section, an op code and
 * a case in `backward`'s switch.
 */

// Initial capacities. Each holds the reference job's longest step (16 positions) at least twice over, so
// it never grows them: a growth path first taken mid-run deoptimizes the code around it.
/** Arena slots after the parameters: the longest step's vectors take 7073. */
const INITIAL_STEP_SLOTS = 16384;
/** Handles: the longest step names 481 vectors. */
const INITIAL_HANDLES = 1024;
/** Tape records: the longest step records 28·16 + 1 = 449 operations. */
const INITIAL_RECORDS = 1024;
/** Handle-list entries: the longest step lists 1168 (keys and values per head and position, heads, losses). */
const INITIAL_LIST_ENTRIES = 4096;
/** linear's live rows: the widest layer, the MLP's 4·16 = 64 rows (a wider one grows it once). */
const INITIAL_LIVE_ROWS = 64;

// A tape record is RECORD Int32 slots, one field each. Every record has OP and OUT; each operation's
// section names the other fields it fills (the rest keep whatever an earlier record left there).
/** The op code. */
const OP = 0;
/** The output's handle. */
const OUT = 1;
/** The input's handle (add: the first; scores: the query; mix: the weights; cross-entropy: the logits). */
const X = 2;
/** add: the second input's handle. */
const Y = 3;
/** scores, mix, concat, mean: where the handles of the listed inputs start in `lists`. */
const LIST = 4;
/** scores, mix, concat, mean: how many handles that list holds. */
const COUNT = 5;
/** scores, mix: where the head starts in each listed vector. */
const OFFSET = 6;
/** scores, mix: the head's length. */
const SIZE = 7;
/** linear: the weight matrix's offset in the arena (parameter matrices have no handle). */
const WEIGHTS = 8;
/** linear: the weight matrix's rows. */
const ROWS = 9;
/** linear: the weight matrix's columns. */
const COLS = 10;
/** cross-entropy: the target token. */
const TARGET = 11;
/** Slots per record: one per field above. */
const RECORD = 12;

// Op codes, one per operation section below.
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

/**
 * Loops read the arrays through locals: a loop over `this.val` would re-check the array's map, length
 * and data pointer on every iteration. Flops are counted from the shapes: every add, subtract, multiply,
 * divide, max, comparison, exp, log and pow the loops perform counts as one.
 */
export class TensorEngine implements Engine<number> {
  private val = new Float64Array(0);
  private grad = new Float64Array(0);
  private paramGrads = new Float64Array(0);
  private numParams = 0;
  /** First free arena slot: parameters occupy [0, numParams), the step's vectors follow. */
  private top = 0;

  private nodeOff = new Int32Array(INITIAL_HANDLES);
  private nodeLen = new Int32Array(INITIAL_HANDLES);
  private nodes = 0;

  private tape = new Int32Array(INITIAL_RECORDS * RECORD);
  private ops = 0;
  /** Handle lists (cached keys and values, concatenated parts, losses) referenced by tape records. */
  private lists = new Int32Array(INITIAL_LIST_ENTRIES);
  private listTop = 0;
  /** Scratch for linear's backward: the rows with a nonzero output gradient. */
  private liveRows = new Int32Array(INITIAL_LIVE_ROWS);
  private flops = 0;
  private edges = 0;
  private readonly stats = { nodes: 0, edges: 0, vectorOps: 0, flops: 0 };

  init(params: Float64Array): void {
    this.numParams = params.length;
    this.val = new Float64Array(params.length + INITIAL_STEP_SLOTS);
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

  read(x: number, out: Float64Array): void {
    const off = this.nodeOff[x];
    for (let i = 0; i < this.nodeLen[x]; i++) out[i] = this.val[off + i];
  }

  backward(loss: number): void {
    const tape = this.tape;
    this.grad[this.nodeOff[loss]] = 1;
    for (let r = (this.ops - 1) * RECORD; r >= 0; r -= RECORD) {
      switch (tape[r + OP]) {
        case ADD:
          this.addBackward(r);
          break;
        case RMSNORM:
          this.rmsnormBackward(r);
          break;
        case LINEAR:
          this.linearBackward(r);
          break;
        case RELU:
          this.reluBackward(r);
          break;
        case SCORES:
          this.scoresBackward(r);
          break;
        case SOFTMAX:
          this.softmaxBackward(r);
          break;
        case MIX:
          this.mixBackward(r);
          break;
        case CONCAT:
          this.concatBackward(r);
          break;
        case CROSS_ENTROPY:
          this.crossEntropyBackward(r);
          break;
        case SUM:
          this.sumBackward(r);
          break;
        case MEAN:
          this.meanBackward(r);
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

  // Operations. Forward sums start from 0 and run in the scalar graphs' order, which makes their results
  // identical to topo's.

  // add: out = a + b. Fields X, Y.

  add(a: number, b: number): number {
    const n = this.nodeLen[a];
    const out = this.alloc(n, 0);
    const v = this.val;
    const ao = this.nodeOff[a];
    const bo = this.nodeOff[b];
    const oo = this.nodeOff[out];
    for (let i = 0; i < n; i++) v[oo + i] = v[ao + i] + v[bo + i];
    const r = this.record(ADD, out, 2, n, 2 * n);
    this.tape[r + X] = a;
    this.tape[r + Y] = b;
    return out;
  }

  private addBackward(r: number): void {
    const { grad: g, nodeOff, tape } = this;
    const out = tape[r + OUT];
    const ao = nodeOff[tape[r + X]];
    const bo = nodeOff[tape[r + Y]];
    const oo = nodeOff[out];
    for (let i = 0, n = this.nodeLen[out]; i < n; i++) {
      const d = g[oo + i];
      g[ao + i] += d;
      g[bo + i] += d;
    }
  }

  // rmsnorm: y = x·s with s = (Σx²/n + eps)^−½, kept in the slot after y for backward. Field X.

  rmsnorm(x: number, eps: number): number {
    const n = this.nodeLen[x];
    const out = this.alloc(n, 1);
    const v = this.val;
    const xo = this.nodeOff[x];
    const oo = this.nodeOff[out];
    let acc = 0;
    for (let i = 0; i < n; i++) acc += v[xo + i] * v[xo + i];
    const scale = Math.pow(acc * Math.pow(n, -1) + eps, -0.5);
    for (let i = 0; i < n; i++) v[oo + i] = v[xo + i] * scale;
    v[oo + n] = scale;
    this.tape[this.record(RMSNORM, out, 1, 3 * n + 4, 6 * n + 4) + X] = x;
    return out;
  }

  /** dx = s·dy − (s³/n)(dy·x)·x. */
  private rmsnormBackward(r: number): void {
    const { val: v, grad: g, nodeOff, tape } = this;
    const out = tape[r + OUT];
    const xo = nodeOff[tape[r + X]];
    const oo = nodeOff[out];
    const n = this.nodeLen[out];
    const scale = v[oo + n];
    let dot = 0;
    for (let i = 0; i < n; i++) dot += g[oo + i] * v[xo + i];
    const c = ((scale * scale * scale) / n) * dot;
    for (let i = 0; i < n; i++) g[xo + i] += scale * g[oo + i] - c * v[xo + i];
  }

  // linear: y = W·x. Fields X, WEIGHTS, ROWS, COLS.

  /** Four rows at a time, for four independent sums in flight; each row still sums in order. */
  linear(x: number, w: ParamMatrix): number {
    const { rows, cols } = w;
    if (rows > this.liveRows.length) this.liveRows = new Int32Array(rows);
    const out = this.alloc(rows, 0);
    const v = this.val;
    const wo = w.offset;
    const xo = this.nodeOff[x];
    const oo = this.nodeOff[out];
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
        const xi = v[xo + i];
        a0 += v[b0 + i] * xi;
        a1 += v[b1 + i] * xi;
        a2 += v[b2 + i] * xi;
        a3 += v[b3 + i] * xi;
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
    const rec = this.record(LINEAR, out, 2, 2 * rows * cols, 4 * rows * cols);
    const t = this.tape;
    t[rec + X] = x;
    t[rec + WEIGHTS] = wo;
    t[rec + ROWS] = rows;
    t[rec + COLS] = cols;
    return out;
  }

  /**
   * dx += Wᵀ·dy and dW += dy ⊗ x. Rows whose dy is zero (units ReLU switched off) add nothing, so
   * only the others are gathered into `live`; they are then taken four at a time, which reads and
   * writes each dx element once per four rows.
   */
  private linearBackward(rec: number): void {
    const { val: v, grad: g, liveRows: live, nodeOff, tape } = this;
    const wo = tape[rec + WEIGHTS];
    const xo = nodeOff[tape[rec + X]];
    const oo = nodeOff[tape[rec + OUT]];
    const rows = tape[rec + ROWS];
    const cols = tape[rec + COLS];
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

  // relu: y = max(0, x). Field X.

  relu(x: number): number {
    const n = this.nodeLen[x];
    const out = this.alloc(n, 0);
    const v = this.val;
    const xo = this.nodeOff[x];
    const oo = this.nodeOff[out];
    for (let i = 0; i < n; i++) v[oo + i] = Math.max(0, v[xo + i]);
    this.tape[this.record(RELU, out, 1, n, n) + X] = x;
    return out;
  }

  private reluBackward(r: number): void {
    const { val: v, grad: g, nodeOff, tape } = this;
    const out = tape[r + OUT];
    const xo = nodeOff[tape[r + X]];
    const oo = nodeOff[out];
    for (let i = 0, n = this.nodeLen[out]; i < n; i++) if (v[xo + i] > 0) g[xo + i] += g[oo + i];
  }

  // attnScores: y_s = (q · k_s) · attnScale(size) over one head's slice of each key. Fields X (q), LIST
  // (the keys), COUNT, OFFSET, SIZE.

  attnScores(q: number, keys: readonly number[], offset: number, size: number): number {
    const t = keys.length;
    const out = this.alloc(t, 0);
    const list = this.pushList(keys);
    const { val: v, nodeOff, lists } = this;
    const qo = nodeOff[q] + offset;
    const oo = nodeOff[out];
    const inv = attnScale(size);
    for (let s = 0; s < t; s++) {
      const ko = nodeOff[lists[list + s]] + offset;
      let acc = 0;
      for (let j = 0; j < size; j++) acc += v[qo + j] * v[ko + j];
      v[oo + s] = acc * inv;
    }
    const r = this.record(SCORES, out, t + 1, t * (2 * size + 1) + 2, t * (4 * size + 1) + 2);
    const tape = this.tape;
    tape[r + X] = q;
    tape[r + LIST] = list;
    tape[r + COUNT] = t;
    tape[r + OFFSET] = offset;
    tape[r + SIZE] = size;
    return out;
  }

  private scoresBackward(r: number): void {
    const { val: v, grad: g, nodeOff, lists, tape } = this;
    const offset = tape[r + OFFSET];
    const size = tape[r + SIZE];
    const qo = nodeOff[tape[r + X]] + offset;
    const oo = nodeOff[tape[r + OUT]];
    const list = tape[r + LIST];
    const inv = attnScale(size);
    for (let s = 0, t = tape[r + COUNT]; s < t; s++) {
      const ko = nodeOff[lists[list + s]] + offset;
      const d = g[oo + s] * inv;
      for (let j = 0; j < size; j++) {
        g[qo + j] += d * v[ko + j];
        g[ko + j] += d * v[qo + j];
      }
    }
  }

  // softmax: y = exp(x − max) / Σ exp(x − max). Field X.

  softmax(x: number): number {
    const n = this.nodeLen[x];
    const out = this.alloc(n, 0);
    this.softmaxInto(this.nodeOff[x], this.nodeOff[out], n);
    this.tape[this.record(SOFTMAX, out, 1, 5 * n + 1, 5 * n) + X] = x;
    return out;
  }

  /** softmax of val[xo..xo+n) into val[oo..oo+n), as the scalar graph computes it. */
  private softmaxInto(xo: number, oo: number, n: number): void {
    const v = this.val;
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, v[xo + i]);
    let total = 0;
    for (let i = 0; i < n; i++) total += v[oo + i] = Math.exp(v[xo + i] + -max);
    const inv = Math.pow(total, -1);
    for (let i = 0; i < n; i++) v[oo + i] *= inv;
  }

  /** dx = p ⊙ (dy − p·dy). */
  private softmaxBackward(r: number): void {
    const { val: v, grad: g, nodeOff, tape } = this;
    const out = tape[r + OUT];
    const xo = nodeOff[tape[r + X]];
    const oo = nodeOff[out];
    const n = this.nodeLen[out];
    let dot = 0;
    for (let i = 0; i < n; i++) dot += v[oo + i] * g[oo + i];
    for (let i = 0; i < n; i++) g[xo + i] += v[oo + i] * (g[oo + i] - dot);
  }

  // attnMix: y = Σ_s w_s · v_s over one head's slice of each value. Fields X (the weights), LIST (the
  // values), COUNT, OFFSET, SIZE.

  attnMix(weights: number, values: readonly number[], offset: number, size: number): number {
    const t = values.length;
    const out = this.alloc(size, 0);
    const list = this.pushList(values);
    const { val: v, nodeOff, lists } = this;
    const wo = nodeOff[weights];
    const oo = nodeOff[out];
    for (let j = 0; j < size; j++) v[oo + j] = 0;
    // Position-major, yet each output still sums over positions in order.
    for (let s = 0; s < t; s++) {
      const w = v[wo + s];
      const vo = nodeOff[lists[list + s]] + offset;
      for (let j = 0; j < size; j++) v[oo + j] += w * v[vo + j];
    }
    const r = this.record(MIX, out, t + 1, 2 * t * size, 4 * t * size + t);
    const tape = this.tape;
    tape[r + X] = weights;
    tape[r + LIST] = list;
    tape[r + COUNT] = t;
    tape[r + OFFSET] = offset;
    tape[r + SIZE] = size;
    return out;
  }

  private mixBackward(r: number): void {
    const { val: v, grad: g, nodeOff, lists, tape } = this;
    const offset = tape[r + OFFSET];
    const size = tape[r + SIZE];
    const wo = nodeOff[tape[r + X]];
    const oo = nodeOff[tape[r + OUT]];
    const list = tape[r + LIST];
    for (let s = 0, t = tape[r + COUNT]; s < t; s++) {
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

  // concat: the parts end to end. Fields LIST (the parts), COUNT. Copying is free; backward adds each
  // element back.

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
    const r = this.record(CONCAT, out, parts.length, 0, n);
    this.tape[r + LIST] = list;
    this.tape[r + COUNT] = parts.length;
    return out;
  }

  private concatBackward(r: number): void {
    const { grad: g, nodeOff, nodeLen, lists, tape } = this;
    const list = tape[r + LIST];
    let o = nodeOff[tape[r + OUT]];
    for (let p = 0, k = tape[r + COUNT]; p < k; p++) {
      const po = nodeOff[lists[list + p]];
      const n = nodeLen[lists[list + p]];
      for (let i = 0; i < n; i++) g[po + i] += g[o + i];
      o += n;
    }
  }

  // crossEntropy: −log softmax(x)[target]; the probabilities are kept after the loss for backward.
  // Fields X (the logits), TARGET.

  crossEntropy(logits: number, target: number): number {
    const n = this.nodeLen[logits];
    const out = this.alloc(1, n);
    const oo = this.nodeOff[out];
    this.softmaxInto(this.nodeOff[logits], oo + 1, n);
    this.val[oo] = -Math.log(this.val[oo + 1 + target]);
    const r = this.record(CROSS_ENTROPY, out, 1, 5 * n + 3, 3 * n);
    this.tape[r + X] = logits;
    this.tape[r + TARGET] = target;
    return out;
  }

  /** Softmax and cross-entropy fused: dx = g·(p − onehot(target)). */
  private crossEntropyBackward(r: number): void {
    const { val: v, grad: g, nodeOff, tape } = this;
    const x = tape[r + X];
    const target = tape[r + TARGET];
    const xo = nodeOff[x];
    const oo = nodeOff[tape[r + OUT]];
    const d = g[oo];
    for (let i = 0, n = this.nodeLen[x]; i < n; i++) g[xo + i] += d * (v[oo + 1 + i] - (i === target ? 1 : 0));
  }

  // sum: Σ x. Field X.

  sum(x: number): number {
    const n = this.nodeLen[x];
    const out = this.alloc(1, 0);
    const v = this.val;
    const xo = this.nodeOff[x];
    let acc = 0;
    for (let i = 0; i < n; i++) acc += v[xo + i];
    v[this.nodeOff[out]] = acc;
    this.tape[this.record(SUM, out, 1, n, n) + X] = x;
    return out;
  }

  private sumBackward(r: number): void {
    const { grad: g, nodeOff, tape } = this;
    const x = tape[r + X];
    const xo = nodeOff[x];
    const d = g[nodeOff[tape[r + OUT]]];
    for (let i = 0, n = this.nodeLen[x]; i < n; i++) g[xo + i] += d;
  }

  // mean: (Σ x_i) · (1/k) over k scalars. Fields LIST (the scalars), COUNT.

  mean(xs: readonly number[]): number {
    const k = xs.length;
    const out = this.alloc(1, 0);
    const list = this.pushList(xs);
    let acc = 0;
    for (let i = 0; i < k; i++) acc += this.val[this.nodeOff[xs[i]]];
    this.val[this.nodeOff[out]] = acc * (1 / k);
    const r = this.record(MEAN, out, k, k + 2, k + 2);
    this.tape[r + LIST] = list;
    this.tape[r + COUNT] = k;
    return out;
  }

  private meanBackward(r: number): void {
    const { grad: g, nodeOff, lists, tape } = this;
    const list = tape[r + LIST];
    const k = tape[r + COUNT];
    const d = g[nodeOff[tape[r + OUT]]] * (1 / k);
    for (let i = 0; i < k; i++) g[nodeOff[lists[list + i]]] += d;
  }

  // Bookkeeping.

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

  /**
   * Appends a record of `op` writing `out` from `inputs` input vectors, counts its forward and backward
   * flops, and returns where the record starts in `tape`, for the caller to fill in the op's fields.
   */
  private record(op: number, out: number, inputs: number, forwardFlops: number, backwardFlops: number): number {
    if ((this.ops + 1) * RECORD > this.tape.length) this.tape = grown(this.tape, this.tape.length * 2);
    const r = this.ops * RECORD;
    this.tape[r + OP] = op;
    this.tape[r + OUT] = out;
    this.ops++;
    this.edges += inputs;
    this.flops += forwardFlops + backwardFlops;
    return r;
  }
}
