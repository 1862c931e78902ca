import { Value, ValueEngine } from './value-graph.ts';

/**
 * The reference design (microgpt.py's `Value.backward`): order the graph by a recursive
 * depth-first topological sort, then sweep that order in reverse, each node passing
 * local_grad · grad to its children.
 */
export class TopoEngine extends ValueEngine {
  private epoch = 0;

  backward(loss: Value[]): void {
    const order: Value[] = [];
    const epoch = ++this.epoch;
    const visit = (v: Value): void => {
      if (v.mark === epoch) return;
      v.mark = epoch;
      const children = v.children;
      for (let i = 0; i < children.length; i++) visit(children[i]);
      order.push(v);
    };
    const root = loss[0];
    visit(root);

    root.grad = 1;
    let edges = 0;
    for (let n = order.length - 1; n >= 0; n--) {
      const v = order[n];
      const children = v.children;
      const local = v.localGrads;
      edges += children.length;
      for (let i = 0; i < children.length; i++) children[i].grad += local[i] * v.grad;
    }
    this.stats = { nodes: order.length, edges };
  }
}
