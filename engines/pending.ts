import { Value, ValueEngine } from './value-graph.ts';

/**
 * A sort-free backward that is correct — what the study's stack traversal meant. A first pass
 * counts each node's incoming edges (its parents' references to it) in `mark`; the backward then
 * expands a node only once every parent has added its contribution, i.e. when its count drops to 0.
 * Every count is back at 0 when the pass ends, so parameters carry nothing over to the next step.
 */
export class PendingEngine extends ValueEngine {
  backward(loss: Value[]): void {
    const root = loss[0];
    const stack: Value[] = [root];
    let nodes = 0;
    let edges = 0;
    while (stack.length > 0) {
      const v = stack.pop()!;
      nodes++;
      const children = v.children;
      edges += children.length;
      for (let i = 0; i < children.length; i++) if (children[i].mark++ === 0) stack.push(children[i]);
    }

    root.grad = 1;
    stack.push(root);
    while (stack.length > 0) {
      const v = stack.pop()!;
      const children = v.children;
      const local = v.localGrads;
      for (let i = 0; i < children.length; i++) {
        const c = children[i];
        c.grad += local[i] * v.grad;
        if (--c.mark === 0) stack.push(c);
      }
    }
    this.stats = { nodes, edges };
  }
}
