import type { ParamMatrix } from './engine.ts';
import { TopoEngine } from './topo.ts';
import { Value } from './value-graph.ts';

/**
 * The study's fused linear layer: each output is ONE node, Σ w_i·x_i, whose 2·n_in children are the
 * row's weights then the inputs, with local gradients x_i and w_i. The forward value is summed in
 * the same order as the unfused graph, so it is bit-identical; only the backward's accumulation
 * order changes.
 */
export function fusedLinear(x: Value[], w: ParamMatrix, params: readonly Value[]): Value[] {
  const n = w.cols;
  const out: Value[] = new Array(w.rows);
  for (let o = 0; o < w.rows; o++) {
    const base = w.offset + o * n;
    const children: Value[] = new Array(2 * n);
    const local: number[] = new Array(2 * n);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const wi = params[base + i];
      acc += wi.data * x[i].data;
      children[i] = wi;
      children[n + i] = x[i];
      local[i] = x[i].data;
      local[n + i] = wi.data;
    }
    out[o] = new Value(acc, children, local);
  }
  return out;
}

/** Fused linear nodes with the reference (topological sort) backward: correct, and a smaller graph. */
export class FusedEngine extends TopoEngine {
  override linear(x: Value[], w: ParamMatrix): Value[] {
    return fusedLinear(x, w, this.params);
  }
}
