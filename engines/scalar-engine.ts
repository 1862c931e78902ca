import { attnScale, type Engine, type GraphStats, type ParamMatrix } from './engine.ts';

/**
 * Default vector operations built from scalar primitives, decomposed exactly as microgpt.py's
 * `Value` decomposes them, so a scalar engine's graph is the reference's node for node:
 * `sum` starts from a constant 0 (`0 + x0` becomes `x0 + Value(0)`), `a - c` is `a + Value(-c)`,
 * `-a` is `a * Value(-1)`, `a / b` is `a * b**-1`, `a / c` is `a * Value(c**-1)`.
 * Operand order follows the Python source too, so a topological sort visits children in the same
 * order and accumulates gradients in the same order.
 *
 * One deliberate difference: `crossEntropy` builds only the probability it takes the log of.
 * microgpt.py also builds the other vocab−1 probabilities, but nothing reachable from the loss uses
 * them, so the graph behind the loss is unchanged.
 */
export abstract class ScalarEngine<N> implements Engine<N[]> {
  abstract init(params: Float64Array): void;
  abstract reset(): void;
  abstract backward(loss: N[]): void;
  abstract readGrads(out: Float64Array): void;
  abstract writeParams(src: Float64Array): void;
  abstract graphStats(): GraphStats;

  /** The leaf for parameter i (the same node every time within a step). */
  protected abstract paramNode(i: number): N;
  protected abstract constNode(c: number): N;
  protected abstract addNode(a: N, b: N): N;
  protected abstract mulNode(a: N, b: N): N;
  /** a ** k for a constant k; local gradient k * a ** (k - 1). */
  protected abstract powNode(a: N, k: number): N;
  protected abstract logNode(a: N): N;
  protected abstract expNode(a: N): N;
  protected abstract reluNode(a: N): N;
  protected abstract dataOf(a: N): number;

  row(w: ParamMatrix, r: number): N[] {
    const out: N[] = new Array(w.cols);
    const base = w.offset + r * w.cols;
    for (let i = 0; i < w.cols; i++) out[i] = this.paramNode(base + i);
    return out;
  }

  add(a: N[], b: N[]): N[] {
    const out: N[] = new Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = this.addNode(a[i], b[i]);
    return out;
  }

  rmsnorm(x: N[], eps: number): N[] {
    const n = x.length;
    let acc = this.addNode(this.mulNode(x[0], x[0]), this.constNode(0));
    for (let i = 1; i < n; i++) acc = this.addNode(acc, this.mulNode(x[i], x[i]));
    const ms = this.mulNode(acc, this.constNode(Math.pow(n, -1)));
    const scale = this.powNode(this.addNode(ms, this.constNode(eps)), -0.5);
    const out: N[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.mulNode(x[i], scale);
    return out;
  }

  linear(x: N[], w: ParamMatrix): N[] {
    const out: N[] = new Array(w.rows);
    for (let o = 0; o < w.rows; o++) {
      const base = w.offset + o * w.cols;
      let acc = this.addNode(this.mulNode(this.paramNode(base), x[0]), this.constNode(0));
      for (let i = 1; i < w.cols; i++) acc = this.addNode(acc, this.mulNode(this.paramNode(base + i), x[i]));
      out[o] = acc;
    }
    return out;
  }

  relu(x: N[]): N[] {
    const out: N[] = new Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = this.reluNode(x[i]);
    return out;
  }

  attnScores(q: N[], keys: readonly N[][], offset: number, size: number): N[] {
    const invScale = attnScale(size);
    const out: N[] = new Array(keys.length);
    for (let t = 0; t < keys.length; t++) {
      const k = keys[t];
      let acc = this.addNode(this.mulNode(q[offset], k[offset]), this.constNode(0));
      for (let j = 1; j < size; j++) acc = this.addNode(acc, this.mulNode(q[offset + j], k[offset + j]));
      out[t] = this.mulNode(acc, this.constNode(invScale));
    }
    return out;
  }

  softmax(x: N[]): N[] {
    const exps = this.exps(x);
    const total = this.sumNodes(exps);
    const out: N[] = new Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = this.mulNode(exps[i], this.powNode(total, -1));
    return out;
  }

  attnMix(weights: N[], values: readonly N[][], offset: number, size: number): N[] {
    const out: N[] = new Array(size);
    for (let j = 0; j < size; j++) {
      let acc = this.addNode(this.mulNode(weights[0], values[0][offset + j]), this.constNode(0));
      for (let t = 1; t < values.length; t++) acc = this.addNode(acc, this.mulNode(weights[t], values[t][offset + j]));
      out[j] = acc;
    }
    return out;
  }

  concat(parts: readonly N[][]): N[] {
    return ([] as N[]).concat(...parts);
  }

  crossEntropy(logits: N[], target: number): N[] {
    const exps = this.exps(logits);
    const total = this.sumNodes(exps);
    const prob = this.mulNode(exps[target], this.powNode(total, -1));
    return [this.mulNode(this.logNode(prob), this.constNode(-1))];
  }

  sum(x: N[]): N[] {
    return [this.sumNodes(x)];
  }

  mean(xs: readonly N[][]): N[] {
    const total = this.sumNodes(xs.map((x) => x[0]));
    return [this.mulNode(total, this.constNode(1 / xs.length))];
  }

  read(x: N[], out: Float64Array): void {
    for (let i = 0; i < x.length; i++) out[i] = this.dataOf(x[i]);
  }

  /** exp(x_i − max x), the max taken on plain numbers as microgpt.py does. */
  private exps(x: N[]): N[] {
    let max = -Infinity;
    for (let i = 0; i < x.length; i++) max = Math.max(max, this.dataOf(x[i]));
    const out: N[] = new Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = this.expNode(this.addNode(x[i], this.constNode(-max)));
    return out;
  }

  private sumNodes(xs: N[]): N {
    let acc = this.addNode(xs[0], this.constNode(0));
    for (let i = 1; i < xs.length; i++) acc = this.addNode(acc, xs[i]);
    return acc;
  }
}
