import type { GraphStats, ParamMatrix } from './engine.ts';
import { ScalarEngine } from './scalar-engine.ts';

const INITIAL_NODES = 1 << 16;
const INITIAL_EDGES = 1 << 17;

/**
 * A typed-array tape. A node is an index: values and gradients live in Float64Arrays, the edges
 * (child index, local gradient) in an Int32Array and a Float64Array, and node n's edges are
 * `edgeEnd[n-1] .. edgeEnd[n]`. Parameters occupy the first slots and keep them across steps;
 * `reset` only rewinds the tape past them, and capacity grows geometrically when a step needs more,
 * so a steady-state step allocates no per-node objects. Nodes are appended in creation order,
 * which is a topological order, so backward is one reverse sweep.
 *
 * The graph is the other scalar engines' node for node (every node a primitive with at most two
 * edges); only the hot composites are written straight onto the tape.
 *
 * Speed notes (V8 in Node 20): every typed-array access re-checks the array's map, length and data
 * pointer, once per loop iteration and array, so the hot loops do several nodes' work per iteration.
 */
export class TapeEngine extends ScalarEngine<number> {
  private numParams = 0;
  private size = 0;
  private edgeCount = 0;
  private val = new Float64Array(0);
  private grad = new Float64Array(0);
  private edgeEnd = new Int32Array(0);
  private child = new Int32Array(0);
  private local = new Float64Array(0);
  /** paramIndex[i] = i: lets a weight row be passed to sumOfProducts like any list of nodes. */
  private paramIndex = new Int32Array(0);
  /** Scratch lists of node indices, the two operands of sumOfProducts. */
  private left = new Int32Array(64);
  private right = new Int32Array(64);
  /** The last power computed by powNode. */
  private powBase = NaN;
  private powExp = NaN;
  private powValue = NaN;
  private powGrad = NaN;
  /** The loss of the last backward pass, and graphStats' cached answer for it. */
  private lastRoot = -1;
  private stats: GraphStats | null = null;

  init(params: Float64Array): void {
    const P = params.length;
    this.numParams = P;
    this.val = new Float64Array(P + INITIAL_NODES);
    this.grad = new Float64Array(this.val.length);
    this.edgeEnd = new Int32Array(this.val.length);
    this.child = new Int32Array(INITIAL_EDGES);
    this.local = new Float64Array(INITIAL_EDGES);
    this.paramIndex = Int32Array.from({ length: P }, (_, i) => i);
    this.val.set(params);
    this.reset();
  }

  reset(): void {
    this.size = this.numParams;
    this.edgeCount = 0;
    this.grad.fill(0, 0, this.numParams);
  }

  backward(loss: number[]): void {
    const root = loss[0];
    const P = this.numParams;
    const grad = this.grad;
    const edgeEnd = this.edgeEnd;
    const child = this.child;
    const local = this.local;
    grad.fill(0, P, root + 1);
    grad[root] = 1;
    let n = root;
    let end = edgeEnd[n];
    while (n >= P) {
      if (n - 3 >= P && end - edgeEnd[n - 4] === 8) {
        // Four two-edge nodes in a row (nodes have at most two edges): n's edges are the last two.
        let g = grad[n];
        grad[child[end - 1]] += local[end - 1] * g;
        grad[child[end - 2]] += local[end - 2] * g;
        g = grad[n - 1];
        grad[child[end - 3]] += local[end - 3] * g;
        grad[child[end - 4]] += local[end - 4] * g;
        g = grad[n - 2];
        grad[child[end - 5]] += local[end - 5] * g;
        grad[child[end - 6]] += local[end - 6] * g;
        g = grad[n - 3];
        grad[child[end - 7]] += local[end - 7] * g;
        grad[child[end - 8]] += local[end - 8] * g;
        end -= 8;
        n -= 4;
      } else {
        const start = edgeEnd[n - 1];
        const g = grad[n];
        for (let e = start; e < end; e++) grad[child[e]] += local[e] * g;
        end = start;
        n--;
      }
    }
    this.lastRoot = root;
    this.stats = null;
  }

  readGrads(out: Float64Array): void {
    out.set(this.grad.subarray(0, this.numParams));
  }

  writeParams(src: Float64Array): void {
    this.val.set(src);
  }

  /** Tape entries up to the loss (constants included) plus the distinct parameters they reference. */
  graphStats(): GraphStats {
    if (this.stats) return this.stats;
    const P = this.numParams;
    const edges = this.lastRoot >= P ? this.edgeEnd[this.lastRoot] : 0;
    const seen = new Uint8Array(P);
    let params = 0;
    for (let e = 0; e < edges; e++) {
      const c = this.child[e];
      if (c < P && seen[c] === 0) {
        seen[c] = 1;
        params++;
      }
    }
    this.stats = { nodes: Math.max(0, this.lastRoot + 1 - P) + params, edges };
    return this.stats;
  }

  // The model's hot composites, written straight onto the tape: the same nodes in the same order as
  // ScalarEngine's defaults.

  override linear(x: number[], w: ParamMatrix): number[] {
    const n = w.cols;
    const out: number[] = new Array(w.rows);
    const xs = (this.right = atLeast(this.right, n));
    for (let i = 0; i < n; i++) xs[i] = x[i];
    this.reserve(w.rows * (2 * n + 1), w.rows * 4 * n);
    for (let o = 0; o < w.rows; o++) out[o] = this.sumOfProducts(this.paramIndex, w.offset + o * n, xs, n);
    return out;
  }

  override attnScores(q: number[], keys: readonly number[][], offset: number, size: number): number[] {
    const invScale = Math.pow(Math.pow(size, 0.5), -1);
    const out: number[] = new Array(keys.length);
    const qs = (this.left = atLeast(this.left, size));
    const ks = (this.right = atLeast(this.right, size));
    for (let j = 0; j < size; j++) qs[j] = q[offset + j];
    this.reserve(keys.length * (2 * size + 3), keys.length * (4 * size + 2));
    for (let t = 0; t < keys.length; t++) {
      const k = keys[t];
      for (let j = 0; j < size; j++) ks[j] = k[offset + j];
      out[t] = this.mulNode(this.sumOfProducts(qs, 0, ks, size), this.constNode(invScale));
    }
    return out;
  }

  override attnMix(weights: number[], values: readonly number[][], offset: number, size: number): number[] {
    const n = values.length;
    const out: number[] = new Array(size);
    const ws = (this.left = atLeast(this.left, n));
    const vs = (this.right = atLeast(this.right, n));
    for (let t = 0; t < n; t++) ws[t] = weights[t];
    this.reserve(size * (2 * n + 1), size * 4 * n);
    for (let j = 0; j < size; j++) {
      for (let t = 0; t < n; t++) vs[t] = values[t][offset + j];
      out[j] = this.sumOfProducts(ws, 0, vs, n);
    }
    return out;
  }

  /**
   * Σ a[aStart+i]·b[i] as ScalarEngine chains it — mul, const 0, add for the first term, then mul,
   * add per term — returning the last add. The caller reserves room for its 2n+1 nodes and 4n edges.
   * After the first term the terms go two per iteration (see the speed notes).
   */
  private sumOfProducts(a: Int32Array, aStart: number, b: Int32Array, n: number): number {
    const val = this.val;
    const edgeEnd = this.edgeEnd;
    const child = this.child;
    const local = this.local;
    let node = this.size;
    let e = this.edgeCount;

    // mul, const 0, add(mul, const)
    const a0 = a[aStart];
    const b0 = b[0];
    const prod = val[a0] * val[b0];
    let sum = prod + 0;
    val[node] = prod;
    val[node + 1] = 0;
    val[node + 2] = sum;
    child[e] = a0;
    child[e + 1] = b0;
    child[e + 2] = node;
    child[e + 3] = node + 1;
    local[e] = val[b0];
    local[e + 1] = val[a0];
    local[e + 2] = 1;
    local[e + 3] = 1;
    edgeEnd[node] = e + 2;
    edgeEnd[node + 1] = e + 2;
    edgeEnd[node + 2] = e + 4;
    node += 3;
    e += 4;

    // then mul, add(chain, mul) per term; `node - 1` is always the chain so far
    let i = 1;
    for (; i + 1 < n; i += 2) {
      const a1 = a[aStart + i];
      const b1 = b[i];
      const a2 = a[aStart + i + 1];
      const b2 = b[i + 1];
      const av1 = val[a1];
      const bv1 = val[b1];
      const av2 = val[a2];
      const bv2 = val[b2];
      const p1 = av1 * bv1;
      const p2 = av2 * bv2;
      const s1 = sum + p1;
      sum = s1 + p2;
      val[node] = p1;
      val[node + 1] = s1;
      val[node + 2] = p2;
      val[node + 3] = sum;
      child[e] = a1;
      child[e + 1] = b1;
      child[e + 2] = node - 1;
      child[e + 3] = node;
      child[e + 4] = a2;
      child[e + 5] = b2;
      child[e + 6] = node + 1;
      child[e + 7] = node + 2;
      local[e] = bv1;
      local[e + 1] = av1;
      local[e + 2] = 1;
      local[e + 3] = 1;
      local[e + 4] = bv2;
      local[e + 5] = av2;
      local[e + 6] = 1;
      local[e + 7] = 1;
      edgeEnd[node] = e + 2;
      edgeEnd[node + 1] = e + 4;
      edgeEnd[node + 2] = e + 6;
      edgeEnd[node + 3] = e + 8;
      node += 4;
      e += 8;
    }
    if (i < n) {
      const a1 = a[aStart + i];
      const b1 = b[i];
      const av1 = val[a1];
      const bv1 = val[b1];
      const p1 = av1 * bv1;
      sum += p1;
      val[node] = p1;
      val[node + 1] = sum;
      child[e] = a1;
      child[e + 1] = b1;
      child[e + 2] = node - 1;
      child[e + 3] = node;
      local[e] = bv1;
      local[e + 1] = av1;
      local[e + 2] = 1;
      local[e + 3] = 1;
      edgeEnd[node] = e + 2;
      edgeEnd[node + 1] = e + 4;
      node += 2;
      e += 4;
    }
    this.size = node;
    this.edgeCount = e;
    return node - 1;
  }

  protected paramNode(i: number): number {
    return i;
  }

  protected dataOf(a: number): number {
    return this.val[a];
  }

  protected constNode(c: number): number {
    this.reserve(1, 0);
    const n = this.size++;
    this.val[n] = c;
    this.edgeEnd[n] = this.edgeCount;
    return n;
  }

  protected addNode(a: number, b: number): number {
    return this.binary(this.val[a] + this.val[b], a, 1, b, 1);
  }

  protected mulNode(a: number, b: number): number {
    const va = this.val[a];
    const vb = this.val[b];
    return this.binary(va * vb, a, vb, b, va);
  }

  protected powNode(a: number, k: number): number {
    // softmax divides each element by the same total (one pow node per element, as microgpt.py
    // builds it): compute that power and its derivative once. Object.is tells 0 from -0 (1/±0 = ±∞).
    const va = this.val[a];
    if (!Object.is(va, this.powBase) || k !== this.powExp) {
      this.powBase = va;
      this.powExp = k;
      this.powValue = Math.pow(va, k);
      this.powGrad = k * Math.pow(va, k - 1);
    }
    return this.unary(this.powValue, a, this.powGrad);
  }

  protected logNode(a: number): number {
    const va = this.val[a];
    return this.unary(Math.log(va), a, 1 / va);
  }

  protected expNode(a: number): number {
    const e = Math.exp(this.val[a]);
    return this.unary(e, a, e);
  }

  protected reluNode(a: number): number {
    const va = this.val[a];
    return this.unary(Math.max(0, va), a, va > 0 ? 1 : 0);
  }

  /** Appends a node with one edge (child a, local gradient la). */
  private unary(value: number, a: number, la: number): number {
    this.reserve(1, 1);
    const n = this.size++;
    const e = this.edgeCount++;
    this.val[n] = value;
    this.child[e] = a;
    this.local[e] = la;
    this.edgeEnd[n] = e + 1;
    return n;
  }

  /** Appends a node with two edges (children a, b; local gradients la, lb). */
  private binary(value: number, a: number, la: number, b: number, lb: number): number {
    this.reserve(1, 2);
    const n = this.size++;
    const e = this.edgeCount;
    this.edgeCount = e + 2;
    this.val[n] = value;
    this.child[e] = a;
    this.child[e + 1] = b;
    this.local[e] = la;
    this.local[e + 1] = lb;
    this.edgeEnd[n] = e + 2;
    return n;
  }

  /** Makes room for `nodes` more nodes and `edges` more edges, doubling storage that is too small. */
  private reserve(nodes: number, edges: number): void {
    if (this.size + nodes > this.val.length) {
      const cap = Math.max(2 * this.val.length, this.size + nodes);
      this.val = resized(this.val, cap);
      this.grad = resized(this.grad, cap);
      this.edgeEnd = resized(this.edgeEnd, cap);
    }
    if (this.edgeCount + edges > this.child.length) {
      const cap = Math.max(2 * this.child.length, this.edgeCount + edges);
      this.child = resized(this.child, cap);
      this.local = resized(this.local, cap);
    }
  }
}

function atLeast(a: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  return a.length >= length ? a : new Int32Array(2 * length);
}

function resized<T extends Float64Array | Int32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
