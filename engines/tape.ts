import { attnScale, type GraphStats, type ParamMatrix } from './engine.ts';
import { ScalarEngine } from './scalar-engine.ts';
import { grown } from './typed-arrays.ts';

const INITIAL_NODES = 1 << 17;
const INITIAL_EDGES = 1 << 18;
const INITIAL_SEGMENTS = 1 << 12;

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
 * Speed notes (V8 in Node 20): the loops over the tape are closures over its arrays (`tapeLoops`),
 * because a method re-checks each array's map, length and data pointer on every loop iteration.
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
  /** Scratch lists of node indices: the operands of the dot products. */
  private left = new Int32Array(64);
  private right = new Int32Array(64);
  /**
   * Dot-product segments, in creation order: the output node of each and its number of terms (the
   * segment is the 2·terms + 1 nodes ending at the output).
   */
  private segOut = new Int32Array(INITIAL_SEGMENTS);
  private segTerms = new Int32Array(INITIAL_SEGMENTS);
  private segCount = 0;
  /** attnScores' 1/√size (`/ head_dim**0.5`) for the last size seen: two pow calls saved per call. */
  private scaleSize = -1;
  private invScale = NaN;
  /** The last power computed by powNode. */
  private powBase = NaN;
  private powExp = NaN;
  private powValue = NaN;
  private powGrad = NaN;
  /** The hot loops over the current arrays; made again whenever an array is replaced. */
  private loops!: TapeLoops;
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
    this.val.set(params);
    this.remakeLoops();
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
    this.grad.fill(0, this.numParams, root + 1);
    this.grad[root] = 1;
    this.loops.sweep(root, this.numParams, this.segCount);
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
    const params = this.loops.distinctBelow(edges, P);
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
    for (let o = 0; o < w.rows; o++) out[o] = this.sumOfProducts(null, w.offset + o * n, xs, n);
    return out;
  }

  override attnScores(q: number[], keys: readonly number[][], offset: number, size: number): number[] {
    if (size !== this.scaleSize) {
      this.scaleSize = size;
      this.invScale = attnScale(size);
    }
    const invScale = this.invScale;
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

  override rmsnorm(x: number[], eps: number): number[] {
    // Σ x_i·x_i is ScalarEngine's chain of squares, so it is a dot-product segment like any other.
    const n = x.length;
    const xs = (this.left = atLeast(this.left, n));
    for (let i = 0; i < n; i++) xs[i] = x[i];
    this.reserve(2 * n + 1, 4 * n);
    const ms = this.mulNode(this.sumOfProducts(xs, 0, xs, n), this.constNode(Math.pow(n, -1)));
    const scale = this.powNode(this.addNode(ms, this.constNode(eps)), -0.5);
    const out: number[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.mulNode(x[i], scale);
    return out;
  }

  /**
   * Σ x_i·b[i] as ScalarEngine chains it (see `tapeLoops`), x_i being node a[aStart+i], or node
   * aStart + i itself if a is null (a weight row), recorded as a segment for backward. The caller
   * reserves room for its 2n+1 nodes and 4n edges.
   */
  private sumOfProducts(a: Int32Array | null, aStart: number, b: Int32Array, n: number): number {
    const out = this.loops.dot(a, aStart, b, n, this.size, this.edgeCount);
    this.size = out + 1;
    this.edgeCount += 4 * n;
    if (this.segCount === this.segOut.length) {
      this.segOut = grown(this.segOut, 2 * this.segCount);
      this.segTerms = grown(this.segTerms, 2 * this.segCount);
      this.remakeLoops();
    }
    this.segOut[this.segCount] = out;
    this.segTerms[this.segCount++] = n;
    return out;
  }

  private remakeLoops(): void {
    this.loops = tapeLoops(this.val, this.grad, this.edgeEnd, this.child, this.local, this.segOut, this.segTerms);
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

  /**
   * Makes room for `nodes` more nodes and `edges` more edges. Only the check, which V8 inlines into
   * every node append: with the growing in here too, it ate the callers' inlining budget (softmax
   * built 20% slower).
   */
  private reserve(nodes: number, edges: number): void {
    if (this.size + nodes > this.val.length || this.edgeCount + edges > this.child.length) this.grow(nodes, edges);
  }

  /** Doubles the storage that is too small for `nodes` more nodes and `edges` more edges. */
  private grow(nodes: number, edges: number): void {
    if (this.size + nodes > this.val.length) {
      const cap = Math.max(2 * this.val.length, this.size + nodes);
      this.val = grown(this.val, cap);
      this.grad = grown(this.grad, cap);
      this.edgeEnd = grown(this.edgeEnd, cap);
    }
    if (this.edgeCount + edges > this.child.length) {
      const cap = Math.max(2 * this.child.length, this.edgeCount + edges);
      this.child = grown(this.child, cap);
      this.local = grown(this.local, cap);
    }
    this.remakeLoops();
  }
}

type TapeLoops = ReturnType<typeof tapeLoops>;

/**
 * The loops over the tape, as closures over its arrays. V8 compiles a function of which only one
 * closure exists against that closure's captured values, so to these functions the arrays are
 * constants: an access is a compare against a known length, with no map, length or data pointer to
 * reload. (It did so for these small functions, each optimized whole, but not within the long loop
 * of `sweep`, optimized while it runs once per step: hence that loop only calls them. A second tape
 * in the process, or a grown one, makes more closures: they work the same, only unspecialized. The
 * initial capacities fit the reference job.)
 *
 * A dot product Σ x_i·y_i is written as ScalarEngine chains it — mul, const 0, add(mul, const) for
 * the first term, then mul, add(chain, mul) per term — and recorded as a segment. The adds' edges
 * keep their child indices, but their local gradients (always 1) are left unwritten: backward hands
 * a segment's gradient to its products directly and never reads them.
 */
function tapeLoops(
  val: Float64Array,
  grad: Float64Array,
  edgeEnd: Int32Array,
  child: Int32Array,
  local: Float64Array,
  segOut: Int32Array,
  segTerms: Int32Array,
) {
  /**
   * Plain nodes from n down to stop (exclusive): each passes local · grad to its children. A node
   * has at most two edges, so no inner loop (whose setup costs more than its one or two steps).
   */
  function plain(n: number, stop: number): void {
    let end = edgeEnd[n];
    for (; n > stop; n--) {
      const start = edgeEnd[n - 1];
      const g = grad[n];
      if (start < end) grad[child[start]] += local[start] * g;
      if (start + 1 < end) grad[child[start + 1]] += local[start + 1] * g;
      end = start;
    }
  }

  /**
   * A segment's products, whose edges start at `first`, given the segment's gradient g: every add of
   * the chain has local gradients 1 and one parent, so g reaches each product unchanged. Handing it
   * to all of them at once, last product first as the node-by-node sweep would (so the result is bit
   * for bit the same), saves walking the chain, where each add waits on the store of the one before.
   */
  function products(first: number, terms: number, g: number): void {
    // Edges: product 0 (2), add(product 0, const 0) (2), then per term a product (2) and an add (2).
    for (let e = first + 4 * (terms - 1); e >= first; e -= 4) {
      grad[child[e]] += local[e] * g;
      grad[child[e + 1]] += local[e + 1] * g;
    }
  }

  return {
    /**
     * How many distinct nodes below `limit` the first `count` edges reference. (A function of its
     * own, so that V8, which optimizes this loop while it runs, meets no unrun code after it.)
     */
    distinctBelow(count: number, limit: number): number {
      const seen = new Uint8Array(limit);
      let distinct = 0;
      for (let i = 0; i < count; i++) {
        const v = child[i];
        if (v < limit && seen[v] === 0) {
          seen[v] = 1;
          distinct++;
        }
      }
      return distinct;
    },

    /**
     * Σ x_i·b[i] over n terms, written from `node` and edge `e` on; returns the output node. x_i is
     * a[aStart+i], or aStart + i if a is null (a weight row: one index list fewer to read).
     */
    dot(a: Int32Array | null, aStart: number, b: Int32Array, n: number, node: number, e: number): number {
      // mul, const 0, add(mul, const)
      const a0 = a === null ? aStart : a[aStart];
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
      for (let i = 1; i < n; i++) {
        const a1 = a === null ? aStart + i : a[aStart + i];
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
      return node - 1;
    },

    /**
     * Backward from `root` (its gradient set, the others zero), one reverse sweep. `belowParams` is
     * computed up front: V8 optimizes this loop while the first sweep runs, and optimized code that
     * meets an operation the interpreter has not run yet (here, only the last stretch's) deoptimizes.
     */
    sweep(root: number, P: number, segCount: number): void {
      const belowParams = P - 1;
      let s = segCount - 1;
      while (s >= 0 && segOut[s] > root) s--;
      let n = root;
      while (n >= P) {
        // Plain nodes down to the next segment's output, then that segment.
        const stop = s >= 0 ? segOut[s] : belowParams;
        plain(n, stop);
        n = stop;
        if (s < 0) break;
        const terms = segTerms[s];
        products(edgeEnd[n] - 4 * terms, terms, grad[n]);
        n -= 2 * terms + 1;
        s--;
      }
    },
  };
}

function atLeast(a: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  return a.length >= length ? a : new Int32Array(2 * length);
}
