import { InputError } from './input-error.ts';
import {
  type AdamConfig,
  attnScale,
  type Engine,
  type FusedAdam,
  type GraphStats,
  type ParamMatrix,
} from './engine.ts';

/** The module's binary, built by `npm run build:wasm` (npm ci runs it); null until it has been. */
const BINARY: string | null = await import('./wasm/build/kernels-binary.ts').then(
  (m) => m.KERNELS_WASM_BASE64,
  (err: unknown) => {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw err;
  },
);

/**
 * tensor's design in WebAssembly: the same vector operations, tape and hand-derived gradients
 * (engines/tensor.ts), with every vector, record and Adam moment in the module's memory
 * (engines/wasm/assembly/kernels.ts, AssemblyScript compiled with 128-bit SIMD). This class is a thin
 * driver: each forward operation is one call with handles; backward and the Adam update one call each.
 *
 * The module is compiled before it runs (no interpreted first steps) and its f64x2 division and square
 * root are IEEE-exact, which V8 does not vectorise in JavaScript. Forward values equal topo's bit for
 * bit (exp, log and the general pow are V8's own Math functions, imported); gradients differ from topo's
 * only in summation order, as tensor's do.
 */

/**
 * The module's memory is wasm32: its addresses (AssemblyScript's usize) are 32 bits, so all it holds
 * fits in 4 GiB, and a layout past that wraps around instead of failing (V8 then reports "memory
 * access out of bounds" after minutes of work).
 */
export const WASM_MEMORY_LIMIT_BYTES = 2 ** 32;

/**
 * Why a model of `params` parameters cannot train in the module, or null when it may: every
 * parameter takes a value, a gradient and two Adam moments (four f64, 32 bytes) before any
 * activation, so this is a lower bound of the need, checked before a job starts.
 */
export function wasmSizeProblem(params: number): string | null {
  const need = 32 * params;
  if (need < WASM_MEMORY_LIMIT_BYTES) return null;
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return (
    `${params} parameters need at least ${gib(need)} of WebAssembly memory (value, gradient and two Adam ` +
    `moments each), more than the module's 32-bit memory holds (${gib(WASM_MEMORY_LIMIT_BYTES)})`
  );
}

/** The module's exports, as the class calls them. */
export interface Kernels {
  memory: WebAssembly.Memory;
  init(numParams: number): void;
  reset(): void;
  paramsChanged(): void;
  view(offset: number, length: number): number;
  add(a: number, b: number): number;
  rmsnorm(x: number, eps: number): number;
  linear(x: number, weights: number, rows: number, cols: number): number;
  relu(x: number): number;
  scores(q: number, list: number, count: number, offset: number, size: number, scale: number): number;
  softmax(x: number): number;
  mix(weights: number, list: number, count: number, offset: number, size: number): number;
  concat(list: number, count: number): number;
  crossEntropy(logits: number, target: number): number;
  sum(x: number): number;
  mean(list: number, count: number): number;
  backward(loss: number): void;
  saveProgram(listEntries: number, rowEntries: number, targetEntries: number): number;
  replay(program: number): void;
  adam(learningRate: number, steps: number, step: number, beta1: number, beta2: number, eps: number): void;
  reserveLists(entries: number): void;
  valAddress(): number;
  gradAddress(): number;
  listsAddress(): number;
  stepTop(): number;
  listCapacity(): number;
  vectorOffset(h: number): number;
  vectorLength(h: number): number;
  nodeCount(): number;
  edgeCount(): number;
  opCount(): number;
  flopCount(): number;
}

let compiled: WebAssembly.Module | null = null;

/** Compiled once per process, on the first engine created. */
function kernelsModule(): WebAssembly.Module {
  if (BINARY === null) throw new InputError("the wasm engine's module is not built: run `npm run build:wasm`");
  compiled ??= new WebAssembly.Module(Buffer.from(BINARY, 'base64'));
  return compiled;
}

export class WasmEngine implements Engine<number> {
  protected readonly k: Kernels;
  /** Views of the module's memory, rebuilt whenever the module lays it out afresh (`moved`). */
  private f64 = new Float64Array(0);
  protected i32 = new Int32Array(0);
  /** Element indices of the arena's values and gradients and of the handle lists in those views. */
  private val = 0;
  private grad = 0;
  protected lists = 0;
  private listCap = 0;
  /** Handle-list entries used this step: the driver writes the lists, the module reads them. */
  protected listTop = 0;
  private numParams = 0;
  private readonly stats = { nodes: 0, edges: 0, vectorOps: 0, flops: 0 };

  readonly fusedAdam: FusedAdam = {
    update: (cfg: AdamConfig, step: number) =>
      this.k.adam(cfg.learningRate, cfg.steps, step, cfg.beta1, cfg.beta2, cfg.epsAdam),
    readParams: (out: Float64Array) => this.copyOut(this.val, out),
  };

  constructor() {
    const imports = { env: { exp: Math.exp, log: Math.log, pow: Math.pow, moved: () => this.moved() } };
    this.k = new WebAssembly.Instance(kernelsModule(), imports).exports as unknown as Kernels;
  }

  /** The module's memory: its current size in bytes (tests check that steady-state steps never grow it). */
  memoryBytes(): number {
    return this.k.memory.buffer.byteLength;
  }

  init(params: Float64Array): void {
    this.numParams = params.length;
    this.k.init(params.length);
    this.f64.set(params, this.val);
    this.listTop = 0;
  }

  reset(): void {
    this.k.reset();
    this.listTop = 0;
  }

  row(w: ParamMatrix, r: number): number {
    return this.k.view(w.offset + r * w.cols, w.cols);
  }

  add(a: number, b: number): number {
    return this.k.add(a, b);
  }

  rmsnorm(x: number, eps: number): number {
    return this.k.rmsnorm(x, eps);
  }

  linear(x: number, w: ParamMatrix): number {
    return this.k.linear(x, w.offset, w.rows, w.cols);
  }

  relu(x: number): number {
    return this.k.relu(x);
  }

  attnScores(q: number, keys: readonly number[], offset: number, size: number): number {
    return this.k.scores(q, this.pushList(keys), keys.length, offset, size, attnScale(size));
  }

  softmax(x: number): number {
    return this.k.softmax(x);
  }

  attnMix(weights: number, values: readonly number[], offset: number, size: number): number {
    return this.k.mix(weights, this.pushList(values), values.length, offset, size);
  }

  concat(parts: readonly number[]): number {
    return this.k.concat(this.pushList(parts), parts.length);
  }

  crossEntropy(logits: number, target: number): number {
    return this.k.crossEntropy(logits, target);
  }

  sum(x: number): number {
    return this.k.sum(x);
  }

  mean(xs: readonly number[]): number {
    return this.k.mean(this.pushList(xs), xs.length);
  }

  read(x: number, out: Float64Array): void {
    const off = this.val + this.k.vectorOffset(x);
    const n = this.k.vectorLength(x);
    for (let i = 0; i < n; i++) out[i] = this.f64[off + i];
  }

  backward(loss: number): void {
    const k = this.k;
    k.backward(loss);
    const s = this.stats;
    s.nodes = k.nodeCount();
    s.edges = k.edgeCount();
    s.vectorOps = k.opCount();
    s.flops = k.flopCount();
  }

  readGrads(out: Float64Array): void {
    this.copyOut(this.grad, out);
  }

  writeParams(src: Float64Array): void {
    const f64 = this.f64;
    for (let i = 0, base = this.val; i < this.numParams; i++) f64[base + i] = src[i];
    this.k.paramsChanged();
  }

  /** The same object every time, updated by each backward pass: read it before the next one. */
  graphStats(): GraphStats {
    return this.stats;
  }

  /** The parameters' slots from element `base` of the memory, copied into `out` (no view allocated). */
  private copyOut(base: number, out: Float64Array): void {
    const f64 = this.f64;
    for (let i = 0; i < this.numParams; i++) out[i] = f64[base + i];
  }

  /**
   * Writes `values` at the start of the module's list region in one TypedArray.set (no JavaScript loop,
   * which V8 would optimise at some step of its own); the region's entries up to listTop are then lost.
   */
  protected writeListStart(values: readonly number[]): void {
    if (values.length > this.listCap) this.k.reserveLists(values.length);
    this.i32.set(values, this.lists);
  }

  /** Writes `handles` to the module's list region; returns where they start. */
  protected pushList(handles: readonly number[]): number {
    const start = this.listTop;
    const end = start + handles.length;
    if (end > this.listCap) this.k.reserveLists(end);
    const i32 = this.i32;
    for (let i = 0, base = this.lists + start; i < handles.length; i++) i32[base + i] = handles[i];
    this.listTop = end;
    return start;
  }

  /** Called by the module after it lays its memory out afresh (and grows it). */
  private moved(): void {
    const k = this.k;
    this.f64 = new Float64Array(k.memory.buffer);
    this.i32 = new Int32Array(k.memory.buffer);
    this.val = k.valAddress() / 8;
    this.grad = k.gradAddress() / 8;
    this.lists = k.listsAddress() / 4;
    this.listCap = k.listCapacity();
  }
}
