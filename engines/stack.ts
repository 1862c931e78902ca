import { Value, ValueEngine } from './value-graph.ts';

/**
 * The study's stack-based backward exactly as published: push the loss; pop a node; skip it if
 * already processed; mark it processed; add local_grad · grad to each child and push the child.
 *
 * Kept wrong on purpose. A node is processed the first time it is popped, so gradient that reaches
 * it later through another parent (a residual, q/k/v reading one input, a key reused at later
 * positions) is added to its `grad` but never passed on to its children. The gradient check
 * reports what this costs.
 */
function publishedStackBackward(root: Value, epoch: number): { nodes: number; edges: number } {
  root.grad = 1;
  const stack: Value[] = [root];
  let nodes = 0;
  let edges = 0;
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (v.mark === epoch) continue;
    v.mark = epoch;
    nodes++;
    const children = v.children;
    const local = v.localGrads;
    edges += children.length;
    for (let i = 0; i < children.length; i++) {
      children[i].grad += local[i] * v.grad;
      stack.push(children[i]);
    }
  }
  return { nodes, edges };
}

export class StackEngine extends ValueEngine {
  private epoch = 0;

  backward(loss: Value[]): void {
    this.stats = publishedStackBackward(loss[0], ++this.epoch);
  }
}
