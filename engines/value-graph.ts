import type { GraphStats } from './engine.ts';
import { ScalarEngine } from './scalar-engine.ts';

const NO_CHILDREN: Value[] = [];
const NO_GRADS: number[] = [];

/** A scalar node as in micrograd and microgpt.py: value, gradient, children and local gradients. */
export class Value {
  grad = 0;
  /** Scratch field for traversals (visit epoch, pending-parent count): one shape for every node. */
  mark = 0;

  constructor(
    public data: number,
    readonly children: Value[] = NO_CHILDREN,
    readonly localGrads: number[] = NO_GRADS,
  ) {}
}

/**
 * The object-graph engines share this: one `Value` object per node, allocated as the forward pass
 * runs. Subclasses differ only in how they run the backward pass (and may fuse composites).
 */
export abstract class ValueEngine extends ScalarEngine<Value> {
  protected params: Value[] = [];
  protected stats: GraphStats = { nodes: 0, edges: 0 };

  init(params: Float64Array): void {
    this.params = Array.from(params, (p) => new Value(p));
  }

  reset(): void {
    for (const p of this.params) p.grad = 0;
  }

  readGrads(out: Float64Array): void {
    const ps = this.params;
    for (let i = 0; i < ps.length; i++) out[i] = ps[i].grad;
  }

  writeParams(src: Float64Array): void {
    const ps = this.params;
    for (let i = 0; i < ps.length; i++) ps[i].data = src[i];
  }

  graphStats(): GraphStats {
    return this.stats;
  }

  protected paramNode(i: number): Value {
    return this.params[i];
  }
  protected constNode(c: number): Value {
    return new Value(c);
  }
  protected addNode(a: Value, b: Value): Value {
    return new Value(a.data + b.data, [a, b], [1, 1]);
  }
  protected mulNode(a: Value, b: Value): Value {
    return new Value(a.data * b.data, [a, b], [b.data, a.data]);
  }
  protected powNode(a: Value, k: number): Value {
    return new Value(Math.pow(a.data, k), [a], [k * Math.pow(a.data, k - 1)]);
  }
  protected logNode(a: Value): Value {
    return new Value(Math.log(a.data), [a], [1 / a.data]);
  }
  protected expNode(a: Value): Value {
    const e = Math.exp(a.data);
    return new Value(e, [a], [e]);
  }
  protected reluNode(a: Value): Value {
    return new Value(Math.max(0, a.data), [a], [a.data > 0 ? 1 : 0]);
  }
  protected dataOf(a: Value): number {
    return a.data;
  }
}
