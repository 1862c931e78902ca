/**
 * Where a count run's instructions went: callgrind's cost of every instruction address (it runs with
 * --dump-instr=yes) summed per function. Callgrind names native code itself (Node, V8's C++ and its
 * embedded builtins, libc; CPython's and Rust's functions in an external program); code V8 compiles at
 * run time it knows only by address, so those addresses are looked up in the perf map V8 writes with
 * --perf-basic-prof (`/tmp/perf-<pid>.map`: start, size and name of every piece of code it creates).
 *
 * The map is append-only and V8 reuses code space: a range freed by the GC may hold other code later,
 * and a function optimized again gets a new entry. Callgrind sums each address over the whole dump,
 * so what ran there at which moment is lost; the rule is that the newest entry written before the
 * steps' end owns an address (entries written after the steps never ran in them). Where that newest
 * entry was written during the steps over a range that an older entry also covered, the old code may
 * have run there first: that cost is attributed to the new code and reported as `contested`. Cost at
 * an address no map entry covers and callgrind cannot name is `(no symbol) <file>` when callgrind
 * knows the object file that holds it (a stripped binary, such as dash), else `unattributed`.
 *
 * The files are read line by line (a training part is several MB with every address in it).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { estimatedCycles } from './cycles.ts';

/** Instructions and estimated cycles of a function, a group, or the whole part. */
export interface FunctionCost {
  readonly instructions: number;
  readonly estimatedCycles: number;
}

/** One function's cost: JavaScript's tiers summed, with each tier's share kept apart. */
export interface FunctionCounts extends FunctionCost {
  /** What identifies the function across runs: `name (file)` for JavaScript, the symbol for native code. */
  readonly name: string;
  /** Where it belongs: JavaScript, WebAssembly, V8 builtins, runtime, compiler, GC, other V8, or a native object. */
  readonly group: string;
  /** JavaScript: the cost of each of V8's tiers (interpreted, sparkplug, maglev, turbofan) that ran it. */
  readonly tiers?: Readonly<Record<string, FunctionCost>>;
  /** JavaScript: line and column of the function in its file. */
  readonly location?: string;
}

/** The cost of a counted part (the training steps, or a whole external program), function by function. */
export interface FunctionProfile {
  /** Most costly first. Functions below FOLD_BELOW of the total are summed into `(other <group>)`. */
  readonly functions: readonly FunctionCounts[];
  /** The whole part: the functions and `unattributed` sum to it. */
  readonly total: FunctionCost;
  /** At addresses neither callgrind nor the perf map names (listed among the functions too, as `(unattributed)`). */
  readonly unattributed: FunctionCost;
  /** Attributed to code compiled during the steps over a range where older code had been (see above). */
  readonly contested: FunctionCost;
}

/** A function costing less than this share of the part is folded into its group's `(other …)` row. */
export const FOLD_BELOW = 2e-5;
export const UNATTRIBUTED = '(unattributed)';

/** callgrind's events with --cache-sim=yes, in its order (Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw). */
const EVENT_COUNT = 9;
type Events = Float64Array;

function costOf(e: Events): FunctionCost {
  const l1Misses = e[3] + e[4] + e[5];
  const llMisses = e[6] + e[7] + e[8];
  return { instructions: e[0], estimatedCycles: estimatedCycles(e[0] + e[1] + e[2], l1Misses, llMisses) };
}

// ---------------------------------------------------------------------------------------------------
// The perf map

/** One line of a perf map: `<start hex> <size hex> <name>`, and where in the file it was written. */
export interface PerfMapEntry {
  readonly start: number;
  readonly end: number;
  readonly name: string;
  /** Byte offset of the line in the file: the marks are offsets too. */
  readonly offset: number;
}

export function parsePerfMap(text: string): PerfMapEntry[] {
  const entries: PerfMapEntry[] = [];
  let offset = 0;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]+) ([0-9a-fA-F]+) (.*)$/.exec(line);
    if (m) {
      const start = parseInt(m[1], 16);
      entries.push({ start, end: start + parseInt(m[2], 16), name: m[3], offset });
    }
    offset += Buffer.byteLength(line) + 1;
  }
  return entries;
}

/** The byte offsets of the map at the two marks (the steps' first and last); the whole run when unknown. */
export interface MapMarks {
  readonly start: number;
  readonly end: number;
}

const WHOLE_RUN: MapMarks = { start: 0, end: Infinity };

/** Which entry owns each address during the steps: disjoint segments, sorted, each with its owner. */
export class AddressOwners {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly owners: PerfMapEntry[] = [];
  private readonly contestedFlags: boolean[] = [];

  constructor(entries: readonly PerfMapEntry[], marks: MapMarks = WHOLE_RUN) {
    const live = entries.filter((e) => e.offset < marks.end && e.end > e.start);
    // Every boundary; between two neighbours the covering entries do not change.
    const bounds = [...new Set(live.flatMap((e) => [e.start, e.end]))].sort((a, b) => a - b);
    const byStart = [...live.keys()].sort((a, b) => live[a].start - live[b].start);
    // Covering entries of the current segment, by file order (the newest wins): a small list, as ranges rarely overlap.
    let active: number[] = [];
    let next = 0;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const [lo, hi] = [bounds[i], bounds[i + 1]];
      active = active.filter((k) => live[k].end > lo);
      while (next < byStart.length && live[byStart[next]].start <= lo) active.push(byStart[next++]);
      if (active.length === 0) continue;
      const winner = active.reduce((a, b) => (b > a ? b : a));
      this.starts.push(lo);
      this.ends.push(hi);
      this.owners.push(live[winner]);
      this.contestedFlags.push(active.length > 1 && live[winner].offset >= marks.start);
    }
  }

  /** The entry that owns `address`, and whether older code shared it during the steps; null if none. */
  lookup(address: number): { entry: PerfMapEntry; contested: boolean } | null {
    if (!Number.isFinite(address)) return null;
    let [lo, hi] = [0, this.starts.length - 1];
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (address < this.starts[mid]) hi = mid - 1;
      else if (address >= this.ends[mid]) lo = mid + 1;
      else return { entry: this.owners[mid], contested: this.contestedFlags[mid] };
    }
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// Names

/** V8's marks for the tier of a JavaScript function's code in the perf map. */
const TIERS: Readonly<Record<string, string>> = {
  '~': 'interpreted',
  '^': 'sparkplug',
  '+': 'maglev',
  '*': 'turbofan',
};

interface Named {
  readonly name: string;
  readonly group: string;
  readonly tier?: string;
  readonly location?: string;
}

/**
 * A perf map name as a function: `JS:*linear file:///…/worker.mjs:196:9` is `linear (worker.mjs)` in
 * turbofan code at 196:9; a file's content hash (esbuild's chunk-XXXX names, the build folder) is
 * left out, so one function keeps its name across builds of the harness. Wasm code is
 * `JS:wasm-function[6]-6-liftoff` (V8 names a function by its index when the module has no name
 * section, as the harness's kernels have not), and its wrappers `JS:wasm-to-js:d:d-2-turbofan`. V8's
 * other code (`Builtin:`, `BytecodeHandler:`, `Stub:`, …) is grouped as V8 builtins.
 */
export function perfMapFunction(mapName: string): Named {
  const wasm = /^JS:(.+)-\d+-(liftoff|turbofan)$/.exec(mapName);
  if (wasm) return { name: `${wasm[1]} (wasm)`, group: 'WebAssembly', tier: wasm[2] };
  const js = /^JS:([~^+*]?)(\S*)(?: (\S+?)(?::(\d+):(\d+))?)?$/.exec(mapName);
  if (js) {
    const file = js[3] === undefined ? null : shortFile(js[3]);
    const fn = js[2] || `(anonymous ${file ?? ''}:${js[4] ?? '?'})`;
    const location = js[4] === undefined ? undefined : `${js[4]}:${js[5]}`;
    const name = file === null ? fn : `${fn} (${file})`;
    return { name, group: 'JavaScript', tier: TIERS[js[1]] ?? 'unknown', location };
  }
  return { name: mapName.replace(/^[A-Za-z]+:/, 'Builtins_'), group: 'V8 builtins' };
}

/** A script's URL without its folders and content hashes (`chunk-LPSTVWM4.mjs` → `chunk.mjs`); Node's own as is. */
function shortFile(url: string): string {
  if (url.startsWith('node:')) return url;
  const base = url.split('/').at(-1) ?? url;
  return base.replace(/-[A-Z0-9]{8}(?=\.m?js$)/, '');
}

/** A symbol callgrind named, grouped: V8's builtins, runtime, compilers and GC apart; other code by its object file. */
export function nativeFunction(symbol: string, object: string): Named {
  const name = symbol.replace(/'\d+$/, '');
  if (name.startsWith('(no symbol)')) return { name, group: object.split('/').at(-1)! };
  return { name, group: nativeGroup(name, object) };
}

function nativeGroup(name: string, object: string): string {
  if (name.startsWith('Builtins_')) return 'V8 builtins';
  if (name.includes('v8::internal::Runtime_')) return 'V8 runtime';
  if (/^v8::internal::(compiler|maglev|baseline|interpreter|wasm)::|Compiler|Parser|Scanner/.test(name)) {
    return /^v8::internal::wasm::/.test(name) ? 'V8 wasm' : 'V8 compiler';
  }
  if (/^v8::internal::.*(Heap|Sweep|Mark|Scaveng|Evacuat|GC|Compact|Remembered|Slot|Space|Page)/.test(name)) {
    return 'V8 GC';
  }
  if (/^v8::/.test(name)) return 'V8';
  if (/^node::/.test(name)) return 'Node';
  return object.split('/').at(-1) || '???';
}

// ---------------------------------------------------------------------------------------------------
// callgrind's file, line by line

/** Calls `onLine` with each line of the file, read in chunks (names are ASCII; latin1 keeps a chunk's edge whole). */
export function forEachLine(path: string, onLine: (line: string) => void): void {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let carry = '';
  try {
    for (let read; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0;) {
      const lines = (carry + buffer.toString('latin1', 0, read)).split('\n');
      carry = lines.pop()!;
      for (const line of lines) onLine(line);
    }
    if (carry) onLine(carry);
  } finally {
    closeSync(fd);
  }
}

interface Accumulator {
  readonly named: Named;
  readonly events: Events;
  readonly tiers: Map<string, Events>;
}

/** Where a cost line's events go: its function's sums, its tier's, and whether it is contested. */
interface Target {
  readonly events: Events;
  readonly tier: Events | null;
  readonly contested: boolean;
}

/** Sums callgrind's cost lines per function, naming the addresses it could not name from the perf map. */
class ProfileBuilder {
  private readonly byName = new Map<string, Accumulator>();
  /** A target per callgrind symbol and per perf map entry, made once: a file has millions of cost lines. */
  private readonly bySymbol = new Map<string, Target | null>();
  /** Per perf map entry, apart for its contested and its plain segments. */
  private readonly byEntry = [new Map<PerfMapEntry, Target>(), new Map<PerfMapEntry, Target>()];
  private readonly unattributed: Target;
  readonly total = new Float64Array(EVENT_COUNT);
  readonly contested = new Float64Array(EVENT_COUNT);

  constructor(private readonly owners: AddressOwners | null) {
    this.unattributed = this.target({ name: UNATTRIBUTED, group: UNATTRIBUTED }, false);
  }

  private target(named: Named, contested: boolean): Target {
    let acc = this.byName.get(named.name);
    if (!acc) this.byName.set(named.name, (acc = { named, events: new Float64Array(EVENT_COUNT), tiers: new Map() }));
    let tier: Events | null = null;
    if (named.tier !== undefined) {
      tier = acc.tiers.get(named.tier) ?? null;
      if (!tier) acc.tiers.set(named.tier, (tier = new Float64Array(EVENT_COUNT)));
    }
    return { events: acc.events, tier, contested };
  }

  /** The target of a function callgrind named; null for one it knows only by address (JIT code). */
  symbolTarget(symbol: string, object: string): Target | null {
    const key = `${object}\0${symbol}`;
    let t = this.bySymbol.get(key);
    if (t === undefined) {
      const unknown = symbol === '' || /^0x[0-9a-f]+(?:'\d+)?$/i.test(symbol);
      t = unknown ? null : this.target(nativeFunction(symbol, object), false);
      this.bySymbol.set(key, t);
    }
    return t;
  }

  /**
   * The target of code callgrind knows only by address: from the perf map (JIT code), else the object
   * file's when callgrind knows which file holds it (a stripped binary: `(no symbol) dash`), else
   * unattributed.
   */
  addressTarget(address: number, object: string): Target {
    const owner = this.owners?.lookup(address);
    if (!owner) {
      const file = object.split('/').at(-1) ?? '';
      if (file === '' || file === '???') return this.unattributed;
      return this.symbolTarget(`(no symbol) ${file}`, object)!;
    }
    const targets = this.byEntry[owner.contested ? 1 : 0];
    let t = targets.get(owner.entry);
    if (!t) targets.set(owner.entry, (t = this.target(perfMapFunction(owner.entry.name), owner.contested)));
    return t;
  }

  add(target: Target, costs: Events, n: number): void {
    for (let i = 0; i < n; i++) {
      const c = costs[i];
      target.events[i] += c;
      this.total[i] += c;
      if (target.tier) target.tier[i] += c;
      if (target.contested) this.contested[i] += c;
    }
  }

  profile(): FunctionProfile {
    const total = costOf(this.total);
    const all: FunctionCounts[] = [...this.byName.values()]
      .filter(({ events }) => events.some((e) => e > 0))
      .map(({ named, events, tiers }) => ({
        name: named.name,
        group: named.group,
        ...costOf(events),
        ...(tiers.size > 0 && { tiers: Object.fromEntries([...tiers].map(([t, e]) => [t, costOf(e)])) }),
        ...(named.location !== undefined && { location: named.location }),
      }));
    return {
      functions: fold(all, total.instructions * FOLD_BELOW),
      total,
      unattributed: costOf(this.unattributed.events),
      contested: costOf(this.contested),
    };
  }
}

/** The profile with functions under `share` of its total summed per group (for a chart: fewer boxes). */
export function foldProfile(profile: FunctionProfile, share: number): FunctionProfile {
  return { ...profile, functions: fold(profile.functions, profile.total.instructions * share) };
}

/** The functions costing at least `floor` instructions, most costly first, the rest summed per group. */
function fold(all: readonly FunctionCounts[], floor: number): FunctionCounts[] {
  const kept: FunctionCounts[] = [];
  const others = new Map<string, { instructions: number; estimatedCycles: number }>();
  for (const f of all) {
    if (f.instructions >= floor || f.name === UNATTRIBUTED) {
      kept.push(f);
      continue;
    }
    const o = others.get(f.group) ?? { instructions: 0, estimatedCycles: 0 };
    o.instructions += f.instructions;
    o.estimatedCycles += f.estimatedCycles;
    others.set(f.group, o);
  }
  for (const [group, cost] of others) {
    const name = `(other ${group})`;
    const existing = kept.findIndex((f) => f.name === name);
    const prior = existing >= 0 ? kept.splice(existing, 1)[0] : { instructions: 0, estimatedCycles: 0 };
    kept.push({
      name,
      group,
      instructions: cost.instructions + prior.instructions,
      estimatedCycles: cost.estimatedCycles + prior.estimatedCycles,
    });
  }
  return kept.sort((a, b) => b.estimatedCycles - a.estimatedCycles || a.name.localeCompare(b.name));
}

/**
 * The per-function profile of callgrind files (one dump, or all of a program's), JIT code named by
 * `owners` (from the process's perf map) where given.
 */
export function readFunctionProfile(paths: readonly string[], owners: AddressOwners | null): FunctionProfile {
  const builder = new ProfileBuilder(owners);
  for (const path of paths) readCostLines(path, builder);
  return builder.profile();
}

/**
 * One callgrind file's cost lines into `builder`. The format (callgrind's manual, "Callgrind Format
 * Specification"): `ob=`/`fn=` set the object and function of the lines that follow, names given once
 * as `(id) name` and later as `(id)` (shared by `fn=`, `cfn=` …); a cost line is the position
 * (address, absolute `0x…`, relative `+n`/`-n`, or `*` for the same) then the events; the line after
 * `calls=` is the call's inclusive cost, which belongs to the callee and is not added.
 */
function readCostLines(path: string, builder: ProfileBuilder): void {
  const fnNames = new Map<string, string>();
  const obNames = new Map<string, string>();
  let object = '';
  /** The current function's target, or null when its addresses must be looked up (JIT code). */
  let target: Target | null = null;
  let address = 0;
  let skipNext = false;
  let inBody = false;
  /**
   * Fields before the events in a cost line: the position's. Without a `positions:` line they are
   * lines alone (the format's default), and no address can be looked up; the count run's files have
   * `instr line` (--dump-instr=yes).
   */
  let positionFields = 1;
  let byInstruction = false;
  const costs = new Float64Array(EVENT_COUNT);
  const compressed = (line: string, start: number, names: Map<string, string>): string => {
    const m = /^\((\d+)\)(?: (.*))?$/.exec(line.slice(start));
    if (!m) return line.slice(start);
    if (m[2] !== undefined) names.set(m[1], m[2]);
    return names.get(m[1]) ?? '';
  };
  forEachLine(path, (line) => {
    const c = line.charCodeAt(0);
    // Cost lines: a digit, '+', '-' or '*'.
    if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 42) {
      if (!inBody) return;
      let space = line.indexOf(' ');
      if (space < 0) space = line.length;
      if (c === 43) address += Number(line.slice(1, space));
      else if (c === 45) address -= Number(line.slice(1, space));
      else if (c !== 42) address = Number(line.slice(0, space));
      if (skipNext) {
        skipNext = false;
        return;
      }
      // The events follow the position's fields; trailing zeros may be left out.
      let field = 1;
      let n = 0;
      let at = space + 1;
      while (at < line.length && n < EVENT_COUNT) {
        let end = line.indexOf(' ', at);
        if (end < 0) end = line.length;
        if (field >= positionFields) costs[n++] = Number(line.slice(at, end));
        field++;
        at = end + 1;
      }
      builder.add(target ?? builder.addressTarget(byInstruction ? address : NaN, object), costs, n);
      return;
    }
    if (line.startsWith('fn=')) {
      inBody = true;
      target = builder.symbolTarget(compressed(line, 3, fnNames), object);
    } else if (line.startsWith('ob=')) object = compressed(line, 3, obNames);
    else if (line.startsWith('cfn=')) compressed(line, 4, fnNames);
    else if (line.startsWith('cob=')) compressed(line, 4, obNames);
    else if (line.startsWith('calls=')) skipNext = true;
    else if (line.startsWith('positions:')) {
      const positions = line.slice(10).trim().split(/\s+/);
      positionFields = positions.length;
      byInstruction = positions[0] === 'instr';
    }
  });
}
