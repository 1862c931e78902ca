import type { GraphStats, ParamMatrix } from './engine.ts';
import { ScalarEngine } from './scalar-engine.ts';

const INITIAL_NODES = 1 << 17;
const INITIAL_EDGES = 1 << 18;

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
  /**
   * Dot-product segments written by sumOfProducts, in creation order: the output node of each and
   * its number of terms (the segment is the 2·terms + 1 nodes ending at the output).
   */
  private segOut = new Int32Array(1024);
  private segTerms = new Int32Array(1024);
  private segCount = 0;
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
    this.segCount = 0;
    this.grad.fill(0, 0, this.numParams);
  }

  backward(loss: number[]): void {
    const root = loss[0];
    const P = this.numParams;
    const grad = this.grad;
    const edgeEnd = this.edgeEnd;
    const child = this.child;
    const local = this.local;
    const segOut = this.segOut;
    const segTerms = this.segTerms;
    grad.fill(0, P, root + 1);
    grad[root] = 1;
    let s = this.segCount - 1;
    while (s >= 0 && segOut[s] > root) s--;
    let n = root;
    while (n >= P) {
      // Plain nodes down to the next segment's output: each passes local · grad to its children.
      const stop = s >= 0 ? segOut[s] : P - 1;
      let end = edgeEnd[n];
      for (; n > stop; n--) {
        const start = edgeEnd[n - 1];
        const g = grad[n];
        for (let e = start; e < end; e++) grad[child[e]] += local[e] * g;
        end = start;
      }
      if (s < 0) break;
      // A dot-product segment: every add of the chain has local gradients 1 and one parent, so the
      // output's gradient reaches each product unchanged. Hand it to all of them at once, last
      // product first as the node-by-node sweep would (so the result is bit for bit the same),
      // instead of walking the chain, where each add waits on the store of the one before.
      const g = grad[n];
      const terms = segTerms[s];
      // Edges: product 0 (2), add(product 0, const 0) (2), then per term a product (2) and an add (2).
      const first = edgeEnd[n] - 4 * terms;
      for (let e = first + 4 * (terms - 1); e >= first; e -= 4) {
        grad[child[e]] += local[e] * g;
        grad[child[e + 1]] += local[e + 1] * g;
      }
      n -= 2 * terms + 1;
      s--;
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
   * add per term — returning the last add, and recorded as a segment for backward. The caller
   * reserves room for its 2n+1 nodes and 4n edges. The adds' edges keep their child indices, but
   * their local gradients (always 1) are left unwritten: backward hands a segment's gradient to its
   * products directly and never reads them. Terms go four per iteration (see the speed notes).
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
    const av0 = val[a0];
    const bv0 = val[b0];
    let sum = av0 * bv0;
    val[node] = sum;
    val[node + 1] = 0;
    sum += 0;
    val[node + 2] = sum;
    child[e] = a0;
    child[e + 1] = b0;
    child[e + 2] = node;
    child[e + 3] = node + 1;
    local[e] = bv0;
    local[e + 1] = av0;
    edgeEnd[node] = e + 2;
    edgeEnd[node + 1] = e + 2;
    edgeEnd[node + 2] = e + 4;
    node += 3;
    e += 4;

    // then mul, add(chain, mul) per term; `node - 1` is always the chain so far
    let i = 1;
    for (; i + 3 < n; i += 4) {
      const a1 = a[aStart + i];
      const a2 = a[aStart + i + 1];
      const a3 = a[aStart + i + 2];
      const a4 = a[aStart + i + 3];
      const b1 = b[i];
      const b2 = b[i + 1];
      const b3 = b[i + 2];
      const b4 = b[i + 3];
      const av1 = val[a1];
      const av2 = val[a2];
      const av3 = val[a3];
      const av4 = val[a4];
      const bv1 = val[b1];
      const bv2 = val[b2];
      const bv3 = val[b3];
      const bv4 = val[b4];
      const p1 = av1 * bv1;
      const p2 = av2 * bv2;
      const p3 = av3 * bv3;
      const p4 = av4 * bv4;
      const s1 = sum + p1;
      const s2 = s1 + p2;
      const s3 = s2 + p3;
      sum = s3 + p4;
      val[node] = p1;
      val[node + 1] = s1;
      val[node + 2] = p2;
      val[node + 3] = s2;
      val[node + 4] = p3;
      val[node + 5] = s3;
      val[node + 6] = p4;
      val[node + 7] = sum;
      child[e] = a1;
      child[e + 1] = b1;
      child[e + 2] = node - 1;
      child[e + 3] = node;
      child[e + 4] = a2;
      child[e + 5] = b2;
      child[e + 6] = node + 1;
      child[e + 7] = node + 2;
      child[e + 8] = a3;
      child[e + 9] = b3;
      child[e + 10] = node + 3;
      child[e + 11] = node + 4;
      child[e + 12] = a4;
      child[e + 13] = b4;
      child[e + 14] = node + 5;
      child[e + 15] = node + 6;
      local[e] = bv1;
      local[e + 1] = av1;
      local[e + 4] = bv2;
      local[e + 5] = av2;
      local[e + 8] = bv3;
      local[e + 9] = av3;
      local[e + 12] = bv4;
      local[e + 13] = av4;
      edgeEnd[node] = e + 2;
      edgeEnd[node + 1] = e + 4;
      edgeEnd[node + 2] = e + 6;
      edgeEnd[node + 3] = e + 8;
      edgeEnd[node + 4] = e + 10;
      edgeEnd[node + 5] = e + 12;
      edgeEnd[node + 6] = e + 14;
      edgeEnd[node + 7] = e + 16;
      node += 8;
      e += 16;
    }
    for (; i < n; i++) {
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
      edgeEnd[node] = e + 2;
      edgeEnd[node + 1] = e + 4;
      node += 2;
      e += 4;
    }
    this.size = node;
    this.edgeCount = e;
    if (this.segCount === this.segOut.length) {
      this.segOut = resized(this.segOut, 2 * this.segCount);
      this.segTerms = resized(this.segTerms, 2 * this.segCount);
    }
    this.segOut[this.segCount] = node - 1;
    this.segTerms[this.segCount++] = n;
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
