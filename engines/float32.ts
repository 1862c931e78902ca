import type { Engine, GraphStats, ParamMatrix } from './engine.ts';

/** Rounds every element of `xs` to the nearest float32, in place. */
export function roundToFloat32(xs: Float64Array): void {
  for (let i = 0; i < xs.length; i++) xs[i] = Math.fround(xs[i]);
}

const f32 = new Float32Array(1);
const bits = new Int32Array(f32.buffer);

/** x rounded to float32, then moved to the neighbouring float32 away from zero (+1) or towards it (−1). */
export function float32Neighbour(x: number, direction: 1 | -1): number {
  f32[0] = x;
  if (f32[0] === 0) return 0;
  bits[0] += direction;
  return f32[0];
}

/**
 * A float64 engine made to keep its state in float32: its parameters are rounded to float32 when
 * written (so after every update), and the values and gradients it hands out are rounded as it hands
 * them out. Its arithmetic stays float64, so it shows what float32 storage alone does to a correct
 * engine (the spread of trajectories the loss verdict allows, scenarios/precision.ts) and to a wrong
 * one (the published stack backward still fails in float32).
 */
export class Float32Rounded<V> implements Engine<V> {
  private readonly rounded: Float64Array;

  constructor(
    private readonly inner: Engine<V>,
    numParams = 0,
    /**
     * Given, `init` moves parameter i to its float32 neighbour in direction nudge(i): a first rounding
     * gone the other way, as a float32 library computing in another order might have it.
     */
    private readonly nudge: ((i: number) => 1 | -1) | null = null,
  ) {
    this.rounded = new Float64Array(numParams);
  }

  private roundedCopy(params: Float64Array): Float64Array {
    const out = this.rounded.length === params.length ? this.rounded : new Float64Array(params.length);
    out.set(params);
    roundToFloat32(out);
    return out;
  }

  init(params: Float64Array): void {
    const start = this.roundedCopy(params);
    const nudge = this.nudge;
    if (nudge !== null) for (let i = 0; i < start.length; i++) start[i] = float32Neighbour(start[i], nudge(i));
    this.inner.init(start);
  }
  reset(): void {
    this.inner.reset();
  }
  row(w: ParamMatrix, r: number): V {
    return this.inner.row(w, r);
  }
  add(a: V, b: V): V {
    return this.inner.add(a, b);
  }
  rmsnorm(x: V, eps: number): V {
    return this.inner.rmsnorm(x, eps);
  }
  linear(x: V, w: ParamMatrix): V {
    return this.inner.linear(x, w);
  }
  relu(x: V): V {
    return this.inner.relu(x);
  }
  attnScores(q: V, keys: readonly V[], offset: number, size: number): V {
    return this.inner.attnScores(q, keys, offset, size);
  }
  softmax(x: V): V {
    return this.inner.softmax(x);
  }
  attnMix(weights: V, values: readonly V[], offset: number, size: number): V {
    return this.inner.attnMix(weights, values, offset, size);
  }
  concat(parts: readonly V[]): V {
    return this.inner.concat(parts);
  }
  crossEntropy(logits: V, target: number): V {
    return this.inner.crossEntropy(logits, target);
  }
  sum(x: V): V {
    return this.inner.sum(x);
  }
  mean(xs: readonly V[]): V {
    return this.inner.mean(xs);
  }
  read(x: V, out: Float64Array): void {
    this.inner.read(x, out);
    roundToFloat32(out);
  }
  backward(loss: V): void {
    this.inner.backward(loss);
  }
  readGrads(out: Float64Array): void {
    this.inner.readGrads(out);
    roundToFloat32(out);
  }
  writeParams(src: Float64Array): void {
    this.inner.writeParams(this.roundedCopy(src));
  }
  graphStats(): GraphStats {
    return this.inner.graphStats();
  }
}
