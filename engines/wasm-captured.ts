import type { ParamMatrix, StepCapture } from './engine.ts';
import { WasmEngine } from './wasm.ts';

/** The module's tape layout (engines/wasm/assembly/kernels.ts): fields per record, and the target's. */
const RECORD = 12;
const TARGET = 11;

/** One document length's step as the module recorded it, and where its token ids go. */
interface Program {
  /** Copies of the module's tape, handle offsets and lengths, and handle lists after the recording. */
  readonly tape: Int32Array;
  readonly offsets: Int32Array;
  readonly lengths: Int32Array;
  readonly lists: Int32Array;
  /** The arena slots, edges and flops the step used, and its loss's handle. */
  readonly slots: number;
  readonly edges: number;
  readonly flops: number;
  readonly loss: number;
  /** Per token row: [handle, matrix offset, cols, token index]; per target: [tape index, token index]. */
  readonly rows: Int32Array;
  readonly targets: Int32Array;
}

/**
 * wasm with step capture: the model runs once per document length over placeholder tokens, and the
 * module's tape from that run is kept; each step then puts the tape back with its token rows and targets
 * and the module runs the forward operations itself, in one call. Backward and Adam are wasm's own
 * (one call each), so the same kernels run in the same order and every value is wasm's bit for bit.
 */
export class WasmCapturedEngine extends WasmEngine {
  private programs: (Program | undefined)[] = [];
  /** The recording's token rows and targets, as Program's. */
  private rowBindings: number[] = [];
  private targetBindings: number[] = [];

  readonly capture: StepCapture<number> = {
    has: (length) => this.programs[length] !== undefined,
    record: (length, run) => this.record(length, run),
    replay: (tokens) => this.replay(tokens),
  };

  override init(params: Float64Array): void {
    super.init(params);
    this.programs = [];
  }

  /** A placeholder row ~j is recorded as token j's row of `w`; row 0 stands in for it meanwhile. */
  override row(w: ParamMatrix, r: number): number {
    if (r >= 0) return super.row(w, r);
    const h = super.row(w, 0);
    this.rowBindings.push(h, w.offset, w.cols, ~r);
    return h;
  }

  /** A placeholder target ~j is recorded as token j; target 0 stands in for it meanwhile. */
  override crossEntropy(logits: number, target: number): number {
    if (target >= 0) return super.crossEntropy(logits, target);
    const out = super.crossEntropy(logits, 0);
    this.targetBindings.push((this.k.opCount() - 1) * RECORD + TARGET, ~target);
    return out;
  }

  private record(length: number, run: () => number): void {
    this.rowBindings = [];
    this.targetBindings = [];
    this.reset();
    const loss = run();
    const k = this.k;
    const copy = (address: number, n: number) => this.i32.slice(address / 4, address / 4 + n);
    this.programs[length] = {
      tape: copy(k.tapeAddress(), k.opCount() * RECORD),
      offsets: copy(k.nodeOffsetsAddress(), k.nodeCount()),
      lengths: copy(k.nodeLengthsAddress(), k.nodeCount()),
      lists: this.i32.slice(this.lists, this.lists + this.listTop),
      slots: k.stepTop(),
      edges: k.edgeCount(),
      flops: k.flopCount(),
      loss,
      rows: Int32Array.from(this.rowBindings),
      targets: Int32Array.from(this.targetBindings),
    };
    this.reset();
  }

  private replay(tokens: readonly number[]): number {
    const p = this.programs[tokens.length]!;
    const { rows, targets, offsets, tape } = p;
    for (let b = 0; b < rows.length; b += 4) offsets[rows[b]] = rows[b + 1] + tokens[rows[b + 3]] * rows[b + 2];
    for (let b = 0; b < targets.length; b += 2) tape[targets[b]] = tokens[targets[b + 1]];
    const k = this.k;
    const i32 = this.i32;
    i32.set(tape, k.tapeAddress() / 4);
    i32.set(offsets, k.nodeOffsetsAddress() / 4);
    i32.set(p.lengths, k.nodeLengthsAddress() / 4);
    i32.set(p.lists, this.lists);
    this.listTop = p.lists.length;
    k.replay(tape.length / RECORD, offsets.length, p.slots, p.edges, p.flops);
    return p.loss;
  }
}
