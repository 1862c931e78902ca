import type { ParamMatrix, StepCapture } from './engine.ts';
import { WasmEngine } from './wasm.ts';

/** The module's tape layout (engines/wasm/assembly/kernels.ts): fields per record, and the target's. */
const RECORD = 12;
const TARGET = 11;

/** One document length's step as the module saved it. */
interface Program {
  /** Where the module saved it (its saveProgram's answer) and its handle-list entries. */
  readonly start: number;
  readonly lists: number;
  /** The loss's handle. */
  readonly loss: number;
}

/**
 * wasm with step capture: the model runs once per document length over placeholder tokens, and the
 * module saves the tape of that run in its own memory with the places where token ids go (the token
 * rows' handles and the targets). Each step then writes its token ids to the module, which patches the
 * saved tape with them and runs its forward operations from it, in one call. Backward and Adam are
 * wasm's own (one call each), so the same kernels run in the same order and every value is wasm's bit
 * for bit.
 */
export class WasmCapturedEngine extends WasmEngine {
  private programs: (Program | undefined)[] = [];
  /** The recording's token rows ([handle, matrix offset, cols, token index]) and targets ([tape index, token]). */
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
    // The bindings go after the step's lists, from where the module saves them with the rest.
    const lists = this.listTop;
    this.pushList(this.rowBindings);
    this.pushList(this.targetBindings);
    const start = this.k.saveProgram(lists, this.rowBindings.length, this.targetBindings.length);
    this.programs[length] = { start, lists, loss };
    this.reset();
  }

  private replay(tokens: readonly number[]): number {
    const p = this.programs[tokens.length]!;
    // The token ids go to the start of the list region, which the replayed program does not use.
    this.writeListStart(tokens);
    this.k.replay(p.start);
    this.listTop = p.lists;
    return p.loss;
  }
}
