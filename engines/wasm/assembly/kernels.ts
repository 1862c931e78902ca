// The wasm engine's module, in AssemblyScript: tensor's vector-level tape (engines/tensor.ts) with every
// vector, handle, tape record and Adam moment in the module's own memory. JavaScript passes handles and
// offsets; backward and the Adam update each run in one call.
//
// Exactness: forward sums run in the scalar graph's order, one lane per row or per element where SIMD
// is used, so no sum changes its order and the forward values equal topo's. exp, log and the general
// pow come from JavaScript (V8's Math functions, see the imports); pow(x, −1), which V8 computes as
// 1/x exactly, is a division here.
//
// Memory: regions laid out one after another from __heap_base. When one must grow, all are laid out
// afresh with the larger capacity and moved up in place; `moved` then tells JavaScript to rebuild its
// views of the memory.

@external("env", "exp") declare function exp(x: f64): f64;
@external("env", "log") declare function log(x: f64): f64;
@external("env", "pow") declare function pow(x: f64, y: f64): f64;
@external("env", "moved") declare function moved(): void;

// Initial capacities, as tensor's: each holds the reference job's longest step at least twice over.
const INITIAL_STEP_SLOTS: i32 = 16384;
const INITIAL_HANDLES: i32 = 1024;
const INITIAL_RECORDS: i32 = 1024;
const INITIAL_LIST_ENTRIES: i32 = 4096;
const INITIAL_LIVE_ROWS: i32 = 64;
/** i32 entries for saved programs (the region grows when a recording needs more). */
const INITIAL_PROGRAM_ENTRIES: i32 = 65536;
/** Weight matrices packed for linear's forward pass (a model of n layers has 6n + 1); more run unpacked. */
const MAX_PACKED: i32 = 256;
/** Rows per block in the packed layout: four lane pairs, one f64x2 load each per column. */
const BLOCK: i32 = 8;

// Tape record fields, as tensor's (see there for which op fills which).
const OP: i32 = 0;
const OUT: i32 = 1;
const X: i32 = 2;
const Y: i32 = 3;
const LIST: i32 = 4;
const COUNT: i32 = 5;
const OFFSET: i32 = 6;
const SIZE: i32 = 7;
const WEIGHTS: i32 = 8;
const ROWS: i32 = 9;
const COLS: i32 = 10;
const TARGET: i32 = 11;
const RECORD: i32 = 12;
// rmsnorm's eps and scores' scale, an f64 in fields 8 and 9 (neither op uses WEIGHTS or ROWS).
const CONSTANT: i32 = 8;

const ADD: i32 = 0;
const RMSNORM: i32 = 1;
const LINEAR: i32 = 2;
const RELU: i32 = 3;
const SCORES: i32 = 4;
const SOFTMAX: i32 = 5;
const MIX: i32 = 6;
const CONCAT: i32 = 7;
const CROSS_ENTROPY: i32 = 8;
const SUM: i32 = 9;
const MEAN: i32 = 10;

// Region addresses (bytes) and capacities (elements).
let VAL: usize = 0;
let GRAD: usize = 0;
let MOMENT1: usize = 0;
let MOMENT2: usize = 0;
let PACKED: usize = 0;
let PACKED_LIST: usize = 0;
let NODE_OFF: usize = 0;
let NODE_LEN: usize = 0;
let TAPE: usize = 0;
let LISTS: usize = 0;
let LIVE: usize = 0;
let PROGRAMS: usize = 0;
// NODE_OFF, NODE_LEN, TAPE and LISTS are the regions the operations use: their own (the home ones) or,
// after a replay, a saved program's parts (see replay).
let homeNodeOff: usize = 0;
let homeNodeLen: usize = 0;
let homeTape: usize = 0;
let homeLists: usize = 0;
let arenaCap: i32 = 0;
let handleCap: i32 = 0;
let recordCap: i32 = 0;
let listCap: i32 = 0;
let liveCap: i32 = 0;
let programCap: i32 = 0;
let programTop: i32 = 0;
/** The replayed program's handle-list entries while its parts are in use, or −1. */
let replayedLists: i32 = -1;
/** The end of the memory any layout has used: beyond it the memory is as memory.grow left it, zeros. */
let usedEnd: usize = 0;

// Step state: parameters occupy arena slots [0, numParams), the step's vectors follow up to `top`.
let numParams: i32 = 0;
let top: i32 = 0;
let nodes: i32 = 0;
let ops: i32 = 0;
let edges: i32 = 0;
let flops: f64 = 0;
// The packed matrices ([offset, rows, cols] each, in PACKED_LIST) and whether the parameters have
// changed since they were packed (Adam, or JavaScript writing them).
let packedCount: i32 = 0;
let packedStale: bool = true;

// Addresses of arena slots, handles' fields and tape fields.
@inline function vp(slot: i32): usize {
  return VAL + (<usize>slot << 3);
}
@inline function gp(slot: i32): usize {
  return GRAD + (<usize>slot << 3);
}
@inline function offsetOf(h: i32): i32 {
  return load<i32>(NODE_OFF + (<usize>h << 2));
}
@inline function lengthOf(h: i32): i32 {
  return load<i32>(NODE_LEN + (<usize>h << 2));
}
@inline function field(r: i32, k: i32): i32 {
  return load<i32>(TAPE + (<usize>(r + k) << 2));
}
@inline function setField(r: i32, k: i32, x: i32): void {
  store<i32>(TAPE + (<usize>(r + k) << 2), x);
}
@inline function constant(r: i32): f64 {
  return load<f64>(TAPE + (<usize>(r + CONSTANT) << 2));
}
@inline function setConstant(r: i32, x: f64): void {
  store<f64>(TAPE + (<usize>(r + CONSTANT) << 2), x);
}
@inline function listed(i: i32): i32 {
  return load<i32>(LISTS + (<usize>i << 2));
}
@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 3);
}

// Layout.

/**
 * Lays the regions out from __heap_base with the given capacities. Capacities only grow, so every
 * region moves up or stays: moving them last to first (memory.copy is a memmove) never overwrites one
 * not yet moved. Each region keeps its used part and is zeroed beyond it: gradients beyond `top` must
 * start at zero.
 */
function layout(arena: i32, handles: i32, records: i32, list: i32, live: i32, programs: i32, keep: bool): void {
  if (keep) leaveProgram();
  let p: usize = (__heap_base + 15) & ~(<usize>15);
  const val = p;
  p += <usize>arena << 3;
  const grad = p;
  p += <usize>arena << 3;
  const m1 = p;
  p += <usize>numParams << 3;
  const m2 = p;
  p += <usize>numParams << 3;
  const packed = p;
  p += <usize>numParams << 3;
  const packedList = p;
  p += <usize>(MAX_PACKED * 3) << 2;
  const nodeOff = p;
  p += <usize>handles << 2;
  const nodeLen = p;
  p += <usize>handles << 2;
  const tape = p;
  p += <usize>(records * RECORD) << 2;
  const lists = p;
  p += <usize>list << 2;
  const liveRows = p;
  p += <usize>live << 2;
  const saved = p;
  p += <usize>programs << 2;
  const pages = <i32>((p + 0xffff) >> 16);
  if (pages > memory.size() && memory.grow(pages - memory.size()) < 0) unreachable();
  if (keep) {
    // `top` may already be past the old arena: only its capacity holds anything.
    const slots = <usize>min(top, arenaCap) << 3;
    moveRegion(saved, PROGRAMS, <usize>programTop << 2, p);
    moveRegion(liveRows, LIVE, 0, saved);
    moveRegion(lists, LISTS, <usize>listCap << 2, liveRows);
    moveRegion(tape, TAPE, <usize>(ops * RECORD) << 2, lists);
    moveRegion(nodeLen, NODE_LEN, <usize>nodes << 2, tape);
    moveRegion(nodeOff, NODE_OFF, <usize>nodes << 2, nodeLen);
    moveRegion(packedList, PACKED_LIST, <usize>(packedCount * 3) << 2, nodeOff);
    moveRegion(packed, PACKED, <usize>numParams << 3, packedList);
    moveRegion(m2, MOMENT2, <usize>numParams << 3, packed);
    moveRegion(m1, MOMENT1, <usize>numParams << 3, m2);
    moveRegion(grad, GRAD, slots, m1);
    moveRegion(val, VAL, slots, grad);
  } else if (usedEnd > val) {
    // Only what an earlier job used needs zeroing (the first init fills nothing: about 0.7 MB
    // that valgrind counted as one instruction and one write per byte, V8's memset being `rep stosb`).
    memory.fill(val, 0, min(p, usedEnd) - val);
  }
  if (p > usedEnd) usedEnd = p;
  VAL = val;
  GRAD = grad;
  MOMENT1 = m1;
  MOMENT2 = m2;
  PACKED = packed;
  PACKED_LIST = packedList;
  NODE_OFF = nodeOff;
  NODE_LEN = nodeLen;
  TAPE = tape;
  LISTS = lists;
  LIVE = liveRows;
  PROGRAMS = saved;
  homeNodeOff = nodeOff;
  homeNodeLen = nodeLen;
  homeTape = tape;
  homeLists = lists;
  arenaCap = arena;
  handleCap = handles;
  recordCap = records;
  listCap = list;
  liveCap = live;
  programCap = programs;
  moved();
}

/** `used` bytes from `from` to `to`, then zeros up to `end` (the next region's new start). */
function moveRegion(to: usize, from: usize, used: usize, end: usize): void {
  memory.copy(to, from, used);
  memory.fill(to + used, 0, end - to - used);
}

/**
 * n doubles from p set to 0, four vectors a turn. Not memory.fill: V8 calls memset for it, whose
 * `rep stosb` valgrind counts as one instruction and one write per byte (a step's gradients, about
 * 57 KB, counted 95K instructions and 196K estimated cycles; this loop about a tenth of that).
 */
function zero(p: usize, n: i32): void {
  const zeros = f64x2.splat(0);
  const end = p + (<usize>n << 3);
  for (; p + 64 <= end; p += 64) {
    v128.store(p, zeros);
    v128.store(p, zeros, 16);
    v128.store(p, zeros, 32);
    v128.store(p, zeros, 48);
  }
  for (; p < end; p += 8) store<f64>(p, 0);
}

@inline function grownCap(need: i32, cap: i32): i32 {
  return max(need, cap * 2);
}

function growArena(): void {
  layout(grownCap(top, arenaCap), handleCap, recordCap, listCap, liveCap, programCap, true);
}

// What JavaScript reads to find its way in the memory.

export function valAddress(): usize {
  return VAL;
}
export function gradAddress(): usize {
  return GRAD;
}
export function listsAddress(): usize {
  return homeLists;
}
export function stepTop(): i32 {
  return top;
}
export function listCapacity(): i32 {
  return listCap;
}
export function nodeCount(): i32 {
  return nodes;
}
export function edgeCount(): i32 {
  return edges;
}
export function opCount(): i32 {
  return ops;
}
export function flopCount(): f64 {
  return flops;
}
export function vectorOffset(h: i32): i32 {
  return offsetOf(h);
}
export function vectorLength(h: i32): i32 {
  return lengthOf(h);
}

/** Makes room for `entries` handle-list entries; JavaScript writes the lists itself. */
export function reserveLists(entries: i32): void {
  if (entries > listCap) layout(arenaCap, handleCap, recordCap, grownCap(entries, listCap), liveCap, programCap, true);
}

// Engine lifecycle.

/** Lays the memory out afresh for `n` parameters (JavaScript then writes them at valAddress). */
export function init(n: i32): void {
  numParams = n;
  top = n;
  nodes = 0;
  ops = 0;
  packedCount = 0;
  packedStale = true;
  programTop = 0;
  replayedLists = -1;
  layout(
    n + INITIAL_STEP_SLOTS,
    INITIAL_HANDLES,
    INITIAL_RECORDS,
    INITIAL_LIST_ENTRIES,
    INITIAL_LIVE_ROWS,
    INITIAL_PROGRAM_ENTRIES,
    false,
  );
  clearTape();
}

/** JavaScript has written the parameters: the packed matrices are repacked before linear next runs. */
export function paramsChanged(): void {
  packedStale = true;
}

export function reset(): void {
  zero(GRAD, top);
  top = numParams;
  clearTape();
  useHome();
}

function useHome(): void {
  NODE_OFF = homeNodeOff;
  NODE_LEN = homeNodeLen;
  TAPE = homeTape;
  LISTS = homeLists;
  replayedLists = -1;
}

/**
 * Before the tape grows after a replay (an operation recorded without a reset first): the replayed
 * program's parts are copied into the home regions, which hold them (capacities only grow), and used.
 */
function leaveProgram(): void {
  if (replayedLists < 0) return;
  memory.copy(homeTape, TAPE, <usize>(ops * RECORD) << 2);
  memory.copy(homeNodeOff, NODE_OFF, <usize>nodes << 2);
  memory.copy(homeNodeLen, NODE_LEN, <usize>nodes << 2);
  memory.copy(homeLists, LISTS, <usize>replayedLists << 2);
  useHome();
}

function clearTape(): void {
  nodes = 0;
  ops = 0;
  edges = 0;
  flops = 0;
}

/** A handle for arena slots [off, off + n): a view, used for parameter rows. */
export function view(off: i32, n: i32): i32 {
  leaveProgram();
  if (nodes == handleCap) layout(arenaCap, handleCap * 2, recordCap, listCap, liveCap, programCap, true);
  store<i32>(NODE_OFF + (<usize>nodes << 2), off);
  store<i32>(NODE_LEN + (<usize>nodes << 2), n);
  return nodes++;
}

/** A new vector of length n with `scratch` private slots after it. Moves the memory when it grows. */
function alloc(n: i32, scratch: i32): i32 {
  const off = top;
  top += n + scratch;
  if (top > arenaCap) growArena();
  return view(off, n);
}

function record(op: i32, out: i32, inputs: i32, forwardFlops: i32, backwardFlops: i32): i32 {
  leaveProgram();
  if (ops == recordCap) layout(arenaCap, handleCap, recordCap * 2, listCap, liveCap, programCap, true);
  const r = ops * RECORD;
  setField(r, OP, op);
  setField(r, OUT, out);
  ops++;
  edges += inputs;
  flops += <f64>forwardFlops + <f64>backwardFlops;
  return r;
}

// Operations: forward (exported) and backward, as in tensor. Addresses are taken after alloc, which may
// move the memory.

export function add(a: i32, b: i32): i32 {
  const n = lengthOf(a);
  const out = alloc(n, 0);
  const r = record(ADD, out, 2, 2 * n, 2 * n);
  setField(r, X, a);
  setField(r, Y, b);
  addForward(r);
  return out;
}

function addForward(r: i32): void {
  const out = field(r, OUT);
  const n = lengthOf(out);
  const ap = vp(offsetOf(field(r, X)));
  const bp = vp(offsetOf(field(r, Y)));
  const op = vp(offsetOf(out));
  let i = 0;
  for (; i + 1 < n; i += 2) v128.store(at(op, i), f64x2.add(v128.load(at(ap, i)), v128.load(at(bp, i))));
  for (; i < n; i++) store<f64>(at(op, i), load<f64>(at(ap, i)) + load<f64>(at(bp, i)));
}

function addBackward(r: i32): void {
  const out = field(r, OUT);
  const ag = gp(offsetOf(field(r, X)));
  const bg = gp(offsetOf(field(r, Y)));
  const og = gp(offsetOf(out));
  const n = lengthOf(out);
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const d = v128.load(at(og, i));
    v128.store(at(ag, i), f64x2.add(v128.load(at(ag, i)), d));
    v128.store(at(bg, i), f64x2.add(v128.load(at(bg, i)), d));
  }
  for (; i < n; i++) {
    const d = load<f64>(at(og, i));
    store<f64>(at(ag, i), load<f64>(at(ag, i)) + d);
    store<f64>(at(bg, i), load<f64>(at(bg, i)) + d);
  }
}

/** y = x·s with s = (Σx²/n + eps)^−½, kept in the slot after y. */
export function rmsnorm(x: i32, eps: f64): i32 {
  const n = lengthOf(x);
  const out = alloc(n, 1);
  const r = record(RMSNORM, out, 1, 3 * n + 4, 6 * n + 4);
  setField(r, X, x);
  setConstant(r, eps);
  rmsnormForward(r);
  return out;
}

function rmsnormForward(r: i32): void {
  const out = field(r, OUT);
  const n = lengthOf(out);
  const eps = constant(r);
  const xp = vp(offsetOf(field(r, X)));
  const op = vp(offsetOf(out));
  let acc: f64 = 0;
  for (let i = 0; i < n; i++) {
    const xi = load<f64>(at(xp, i));
    acc += xi * xi;
  }
  const scale = pow(acc * (1.0 / <f64>n) + eps, -0.5);
  const s = f64x2.splat(scale);
  let i = 0;
  for (; i + 1 < n; i += 2) v128.store(at(op, i), f64x2.mul(v128.load(at(xp, i)), s));
  for (; i < n; i++) store<f64>(at(op, i), load<f64>(at(xp, i)) * scale);
  store<f64>(at(op, n), scale);
}

/** dx = s·dy − (s³/n)(dy·x)·x. */
function rmsnormBackward(r: i32): void {
  const out = field(r, OUT);
  const xo = offsetOf(field(r, X));
  const oo = offsetOf(out);
  const n = lengthOf(out);
  const xp = vp(xo);
  const xg = gp(xo);
  const og = gp(oo);
  const scale = load<f64>(at(vp(oo), n));
  let dot: f64 = 0;
  for (let i = 0; i < n; i++) dot += load<f64>(at(og, i)) * load<f64>(at(xp, i));
  const c = ((scale * scale * scale) / <f64>n) * dot;
  // Elementwise from here: two lanes, the same operations per element.
  const ss = f64x2.splat(scale);
  const cs = f64x2.splat(c);
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const d = f64x2.sub(f64x2.mul(ss, v128.load(at(og, i))), f64x2.mul(cs, v128.load(at(xp, i))));
    v128.store(at(xg, i), f64x2.add(v128.load(at(xg, i)), d));
  }
  if (i < n) {
    store<f64>(at(xg, i), load<f64>(at(xg, i)) + (scale * load<f64>(at(og, i)) - c * load<f64>(at(xp, i))));
  }
}

/** Two rows of w from column i, one per lane. */
@inline function rowPair(b0: usize, b1: usize, i: i32): v128 {
  return v128.load64_lane(at(b1, i), v128.load64_splat(at(b0, i)), 1);
}

/** y = W·x, four rows at a time in two lanes pairs; each row sums its columns in order. */
export function linear(x: i32, wo: i32, rows: i32, cols: i32): i32 {
  if (rows > liveCap) layout(arenaCap, handleCap, recordCap, listCap, rows, programCap, true);
  const out = alloc(rows, 0);
  const rec = record(LINEAR, out, 2, 2 * rows * cols, 4 * rows * cols);
  setField(rec, X, x);
  setField(rec, WEIGHTS, wo);
  setField(rec, ROWS, rows);
  setField(rec, COLS, cols);
  setField(rec, Y, packedIndex(wo, rows, cols) >= 0 ? 1 : 0);
  linearForward(rec);
  return out;
}

/** The matrix's entry among the packed ones, added (and packed) if new; −1 if there is no room. */
function packedIndex(wo: i32, rows: i32, cols: i32): i32 {
  for (let k = 0; k < packedCount; k++) if (load<i32>(PACKED_LIST + (<usize>(k * 3) << 2)) == wo) return k;
  if (packedCount == MAX_PACKED) return -1;
  const e = PACKED_LIST + (<usize>(packedCount * 3) << 2);
  store<i32>(e, wo);
  store<i32>(e, rows, 4);
  store<i32>(e, cols, 8);
  if (!packedStale) pack(wo, rows, cols);
  return packedCount++;
}

function repackAll(): void {
  for (let k = 0; k < packedCount; k++) {
    const e = PACKED_LIST + (<usize>(k * 3) << 2);
    pack(load<i32>(e), load<i32>(e, 4), load<i32>(e, 8));
  }
  packedStale = false;
}

/**
 * Copies a row-major matrix of the parameters into PACKED at the same offset, laid out for linear's
 * forward pass: blocks of BLOCK rows stored column by column (a column's BLOCK weights side by side,
 * so one f64x2 load gives two rows' weights), then pairs of rows the same way, then a last row as is.
 */
function pack(wo: i32, rows: i32, cols: i32): void {
  const src = vp(wo);
  const dst = PACKED + (<usize>wo << 3);
  const rowBytes = <usize>cols << 3;
  let r = 0;
  for (; r + BLOCK <= rows; r += BLOCK) {
    const block = dst + <usize>r * rowBytes;
    for (let k = 0; k < BLOCK; k += 2) packPair(src + <usize>r * rowBytes + <usize>k * rowBytes, rowBytes, block + (<usize>k << 3), BLOCK, cols);
  }
  for (; r + 2 <= rows; r += 2) packPair(src + <usize>r * rowBytes, rowBytes, dst + <usize>r * rowBytes, 2, cols);
  if (r < rows) memory.copy(dst + <usize>r * rowBytes, src + <usize>r * rowBytes, rowBytes);
}

/**
 * Rows at a and a + rowBytes, interleaved column by column into dst, `width` doubles from column to
 * column (a constant once inlined: the stores' offsets are then fixed and the three addresses advance
 * once per two columns).
 */
@inline function packPair(a: usize, rowBytes: usize, dst: usize, width: i32, cols: i32): void {
  const step = <usize>width << 3;
  let b = a + rowBytes;
  let d = dst;
  const end = a + (<usize>(cols & ~1) << 3);
  for (; a < end; a += 16, b += 16, d += step << 1) {
    const lo = v128.load(a);
    const hi = v128.load(b);
    v128.store(d, v128.shuffle<f64>(lo, hi, 0, 2));
    v128.store(d + step, v128.shuffle<f64>(lo, hi, 1, 3));
  }
  if (cols & 1) v128.store(d, rowPair(a, b, 0));
}

function linearForward(rec: i32): void {
  if (field(rec, Y) != 0) linearForwardPacked(rec);
  else linearForwardRows(rec);
}

/**
 * y = W·x from the packed matrix: BLOCK rows at a time, each column's weights four f64x2 loads, x's
 * element one splat; every row (a lane) sums its columns in order from 0, as linearForwardRows does.
 */
function linearForwardPacked(rec: i32): void {
  if (packedStale) repackAll();
  const rows = field(rec, ROWS);
  const cols = field(rec, COLS);
  const xp = vp(offsetOf(field(rec, X)));
  const op = vp(offsetOf(field(rec, OUT)));
  const colBytes = <usize>cols << 3;
  const xEnd = xp + colBytes;
  let p = PACKED + (<usize>field(rec, WEIGHTS) << 3);
  let r = 0;
  for (; r + BLOCK <= rows; r += BLOCK) {
    let a0 = f64x2.splat(0);
    let a1 = f64x2.splat(0);
    let a2 = f64x2.splat(0);
    let a3 = f64x2.splat(0);
    for (let x = xp; x < xEnd; x += 8) {
      const xi = v128.load64_splat(x);
      a0 = f64x2.add(a0, f64x2.mul(v128.load(p), xi));
      a1 = f64x2.add(a1, f64x2.mul(v128.load(p, 16), xi));
      a2 = f64x2.add(a2, f64x2.mul(v128.load(p, 32), xi));
      a3 = f64x2.add(a3, f64x2.mul(v128.load(p, 48), xi));
      p += 64;
    }
    const o = at(op, r);
    v128.store(o, a0);
    v128.store(o, a1, 16);
    v128.store(o, a2, 32);
    v128.store(o, a3, 48);
  }
  for (; r + 2 <= rows; r += 2) {
    let a = f64x2.splat(0);
    for (let x = xp; x < xEnd; x += 8) {
      a = f64x2.add(a, f64x2.mul(v128.load(p), v128.load64_splat(x)));
      p += 16;
    }
    v128.store(at(op, r), a);
  }
  if (r < rows) {
    let acc: f64 = 0;
    for (let x = xp; x < xEnd; x += 8) {
      acc += load<f64>(p) * load<f64>(x);
      p += 8;
    }
    store<f64>(at(op, r), acc);
  }
}

/** y = W·x from the row-major matrix (one not packed): four rows at a time in two lane pairs. */
function linearForwardRows(rec: i32): void {
  const rows = field(rec, ROWS);
  const cols = field(rec, COLS);
  const wp = vp(field(rec, WEIGHTS));
  const xp = vp(offsetOf(field(rec, X)));
  const op = vp(offsetOf(field(rec, OUT)));
  const stride = <usize>cols << 3;
  let r = 0;
  for (; r + 3 < rows; r += 4) {
    const b0 = wp + <usize>r * stride;
    const b1 = b0 + stride;
    const b2 = b1 + stride;
    const b3 = b2 + stride;
    let a01 = f64x2.splat(0);
    let a23 = f64x2.splat(0);
    for (let i = 0; i < cols; i++) {
      const xi = v128.load64_splat(at(xp, i));
      a01 = f64x2.add(a01, f64x2.mul(rowPair(b0, b1, i), xi));
      a23 = f64x2.add(a23, f64x2.mul(rowPair(b2, b3, i), xi));
    }
    v128.store(at(op, r), a01);
    v128.store(at(op, r + 2), a23);
  }
  for (; r < rows; r++) {
    const b = wp + <usize>r * stride;
    let acc: f64 = 0;
    for (let i = 0; i < cols; i++) acc += load<f64>(at(b, i)) * load<f64>(at(xp, i));
    store<f64>(at(op, r), acc);
  }
}

/**
 * dx += Wᵀ·dy and dW += dy ⊗ x over the rows whose dy is nonzero, four at a time as tensor does; the
 * lanes carry neighbouring columns, each computing what tensor computes for its column.
 */
function linearBackward(rec: i32): void {
  const wo = field(rec, WEIGHTS);
  const xo = offsetOf(field(rec, X));
  const og = gp(offsetOf(field(rec, OUT)));
  const rows = field(rec, ROWS);
  const cols = field(rec, COLS);
  const xp = vp(xo);
  const xg = gp(xo);
  const wp = vp(wo);
  const wg = gp(wo);
  const stride = <usize>cols << 3;
  let n = 0;
  for (let r = 0; r < rows; r++) {
    if (load<f64>(at(og, r)) != 0) {
      store<i32>(LIVE + (<usize>n << 2), r);
      n++;
    }
  }
  let k = 0;
  for (; k + 3 < n; k += 4) {
    const r0 = load<i32>(LIVE + (<usize>k << 2));
    const r1 = load<i32>(LIVE + (<usize>(k + 1) << 2));
    const r2 = load<i32>(LIVE + (<usize>(k + 2) << 2));
    const r3 = load<i32>(LIVE + (<usize>(k + 3) << 2));
    linearBackward4(wp, wg, xp, xg, stride, cols, r0, r1, r2, r3, og);
  }
  for (; k < n; k++) {
    const row = load<i32>(LIVE + (<usize>k << 2));
    const d = load<f64>(at(og, row));
    const w = wp + <usize>row * stride;
    const dw = wg + <usize>row * stride;
    for (let i = 0; i < cols; i++) {
      const xi = load<f64>(at(xp, i));
      store<f64>(at(xg, i), load<f64>(at(xg, i)) + load<f64>(at(w, i)) * d);
      store<f64>(at(dw, i), load<f64>(at(dw, i)) + d * xi);
    }
  }
}

/**
 * Sixteen columns (eight pairs) of linearBackward4's loop from the given row, x and gradient addresses,
 * rows 1 and 3 at k1 and k3 bytes past w1 and w3 (and g1, g3): 0 for any four rows, or the row size
 * for consecutive rows passed as w1 = w0 and w3 = w2, whose accesses are then all a base and a constant
 * offset (six bases rather than ten, which V8 then holds in registers without spilling).
 */
@inline function backwardColumns16(
  w0: usize,
  w1: usize,
  w2: usize,
  w3: usize,
  g0: usize,
  g1: usize,
  g2: usize,
  g3: usize,
  xp: usize,
  xg: usize,
  k1: usize,
  k3: usize,
  s0: v128,
  s1: v128,
  s2: v128,
  s3: v128,
): void {
  backwardPair(w0, w1, w2, w3, g0, g1, g2, g3, xp, xg, k1, k3, 0, s0, s1, s2, s3);
  backwardPair(w0, w1, w2, w3, g0, g1, g2, g3, xp, xg, k1, k3, 16, s0, s1, s2, s3);
  backwardPair(w0, w1, w2, w3, g0, g1, g2, g3, xp, xg, k1, k3, 32, s0, s1, s2, s3);
  backwardPair(w0, w1, w2, w3, g0, g1, g2, g3, xp, xg, k1, k3, 48, s0, s1, s2, s3);
  backwardPair(w0, w1, w2, w3, g0, g1, g2, g3, xp, xg, k1, k3, 64, s0, s1, s2, s3);
  backwardPair(w0, w1, w2, w3, g0, g1, g2, g3, xp, xg, k1, k3, 80, s0, s1, s2, s3);
  backwardPair(w0, w1, w2, w3, g0, g1, g2, g3, xp, xg, k1, k3, 96, s0, s1, s2, s3);
  backwardPair(w0, w1, w2, w3, g0, g1, g2, g3, xp, xg, k1, k3, 112, s0, s1, s2, s3);
}

/**
 * One column pair, `j` bytes on from each address (rows 1 and 3 `k1 + j` and `k3 + j`; constants once
 * inlined, which the optimiser folds into the loads' and stores' offsets): the same operations in the
 * same order as linearBackward4's loop.
 */
@inline function backwardPair(
  w0: usize,
  w1: usize,
  w2: usize,
  w3: usize,
  g0: usize,
  g1: usize,
  g2: usize,
  g3: usize,
  xp: usize,
  xg: usize,
  k1: usize,
  k3: usize,
  j: usize,
  s0: v128,
  s1: v128,
  s2: v128,
  s3: v128,
): void {
  const xv = v128.load(xp + j);
  const sum01 = f64x2.add(f64x2.mul(v128.load(w0 + j), s0), f64x2.mul(v128.load(w1 + (k1 + j)), s1));
  const sum23 = f64x2.add(f64x2.mul(v128.load(w2 + j), s2), f64x2.mul(v128.load(w3 + (k3 + j)), s3));
  v128.store(xg + j, f64x2.add(v128.load(xg + j), f64x2.add(sum01, sum23)));
  v128.store(g0 + j, f64x2.add(v128.load(g0 + j), f64x2.mul(s0, xv)));
  v128.store(g1 + (k1 + j), f64x2.add(v128.load(g1 + (k1 + j)), f64x2.mul(s1, xv)));
  v128.store(g2 + j, f64x2.add(v128.load(g2 + j), f64x2.mul(s2, xv)));
  v128.store(g3 + (k3 + j), f64x2.add(v128.load(g3 + (k3 + j)), f64x2.mul(s3, xv)));
}

@inline function linearBackward4(
  wp: usize,
  wg: usize,
  xp: usize,
  xg: usize,
  stride: usize,
  cols: i32,
  r0: i32,
  r1: i32,
  r2: i32,
  r3: i32,
  og: usize,
): void {
  const d0 = load<f64>(at(og, r0));
  const d1 = load<f64>(at(og, r1));
  const d2 = load<f64>(at(og, r2));
  const d3 = load<f64>(at(og, r3));
  const w0 = wp + <usize>r0 * stride;
  const w1 = wp + <usize>r1 * stride;
  const w2 = wp + <usize>r2 * stride;
  const w3 = wp + <usize>r3 * stride;
  const g0 = wg + <usize>r0 * stride;
  const g1 = wg + <usize>r1 * stride;
  const g2 = wg + <usize>r2 * stride;
  const g3 = wg + <usize>r3 * stride;
  const s0 = f64x2.splat(d0);
  const s1 = f64x2.splat(d1);
  const s2 = f64x2.splat(d2);
  const s3 = f64x2.splat(d3);
  let i = 0;
  if ((cols & 15) == 0) {
    // Sixteen columns a turn, unrolled, each pair at a constant offset from bases that advance once a
    // turn (the loop over pairs below computes ten addresses and checks the stack per pair). Four
    // consecutive rows of 16 or 64 columns are reached from two bases each for w and its gradient,
    // at constant offsets, which leaves V8 registers for all of them.
    const colBytes = <usize>cols << 3;
    if (r3 == r0 + 3 && cols == 16) {
      const w23 = w0 + 256;
      const g23 = g0 + 256;
      backwardColumns16(w0, w0, w23, w23, g0, g0, g23, g23, xp, xg, 128, 128, s0, s1, s2, s3);
      return;
    }
    if (r3 == r0 + 3 && cols == 64) {
      for (let c: usize = 0; c < colBytes; c += 128) {
        const w01 = w0 + c;
        const w23 = w2 + c;
        const g01 = g0 + c;
        const g23 = g2 + c;
        backwardColumns16(w01, w01, w23, w23, g01, g01, g23, g23, xp + c, xg + c, 512, 512, s0, s1, s2, s3);
      }
      return;
    }
    for (let c: usize = 0; c < colBytes; c += 128) {
      backwardColumns16(w0 + c, w1 + c, w2 + c, w3 + c, g0 + c, g1 + c, g2 + c, g3 + c, xp + c, xg + c, 0, 0, s0, s1, s2, s3);
    }
    return;
  }
  for (; i + 1 < cols; i += 2) {
    const xv = v128.load(at(xp, i));
    const sum01 = f64x2.add(f64x2.mul(v128.load(at(w0, i)), s0), f64x2.mul(v128.load(at(w1, i)), s1));
    const sum23 = f64x2.add(f64x2.mul(v128.load(at(w2, i)), s2), f64x2.mul(v128.load(at(w3, i)), s3));
    v128.store(at(xg, i), f64x2.add(v128.load(at(xg, i)), f64x2.add(sum01, sum23)));
    v128.store(at(g0, i), f64x2.add(v128.load(at(g0, i)), f64x2.mul(s0, xv)));
    v128.store(at(g1, i), f64x2.add(v128.load(at(g1, i)), f64x2.mul(s1, xv)));
    v128.store(at(g2, i), f64x2.add(v128.load(at(g2, i)), f64x2.mul(s2, xv)));
    v128.store(at(g3, i), f64x2.add(v128.load(at(g3, i)), f64x2.mul(s3, xv)));
  }
  for (; i < cols; i++) {
    const xi = load<f64>(at(xp, i));
    const sum = load<f64>(at(w0, i)) * d0 + load<f64>(at(w1, i)) * d1 + (load<f64>(at(w2, i)) * d2 + load<f64>(at(w3, i)) * d3);
    store<f64>(at(xg, i), load<f64>(at(xg, i)) + sum);
    store<f64>(at(g0, i), load<f64>(at(g0, i)) + d0 * xi);
    store<f64>(at(g1, i), load<f64>(at(g1, i)) + d1 * xi);
    store<f64>(at(g2, i), load<f64>(at(g2, i)) + d2 * xi);
    store<f64>(at(g3, i), load<f64>(at(g3, i)) + d3 * xi);
  }
}

export function relu(x: i32): i32 {
  const n = lengthOf(x);
  const out = alloc(n, 0);
  const r = record(RELU, out, 1, n, n);
  setField(r, X, x);
  reluForward(r);
  return out;
}

function reluForward(r: i32): void {
  const out = field(r, OUT);
  const xp = vp(offsetOf(field(r, X)));
  const op = vp(offsetOf(out));
  const n = lengthOf(out);
  const zeros = f64x2.splat(0);
  let i = 0;
  for (; i + 1 < n; i += 2) v128.store(at(op, i), f64x2.max(zeros, v128.load(at(xp, i))));
  if (i < n) store<f64>(at(op, i), max<f64>(0, load<f64>(at(xp, i))));
}

function reluBackward(r: i32): void {
  const out = field(r, OUT);
  const xo = offsetOf(field(r, X));
  const xp = vp(xo);
  const xg = gp(xo);
  const og = gp(offsetOf(out));
  const n = lengthOf(out);
  // Two lanes: where x > 0 the sum, elsewhere the gradient as it was (bit for bit: nothing added).
  const zeros = f64x2.splat(0);
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const g = v128.load(at(xg, i));
    const on = f64x2.gt(v128.load(at(xp, i)), zeros);
    v128.store(at(xg, i), v128.bitselect(f64x2.add(g, v128.load(at(og, i))), g, on));
  }
  if (i < n && load<f64>(at(xp, i)) > 0) store<f64>(at(xg, i), load<f64>(at(xg, i)) + load<f64>(at(og, i)));
}

/**
 * One head's scores over the `count` keys listed from `list`: (q · k_s) · scale, with scale computed by
 * JavaScript (attnScale) and kept in the slot after the scores for backward.
 */
export function scores(q: i32, list: i32, count: i32, offset: i32, size: i32, scale: f64): i32 {
  const out = alloc(count, 1);
  const r = record(SCORES, out, count + 1, count * (2 * size + 1) + 2, count * (4 * size + 1) + 2);
  setField(r, X, q);
  setField(r, LIST, list);
  setField(r, COUNT, count);
  setField(r, OFFSET, offset);
  setField(r, SIZE, size);
  setConstant(r, scale);
  scoresForward(r);
  return out;
}

function scoresForward(r: i32): void {
  const offset = field(r, OFFSET);
  const size = field(r, SIZE);
  const count = field(r, COUNT);
  const list = field(r, LIST);
  const scale = constant(r);
  const qp = vp(offsetOf(field(r, X)) + offset);
  const op = vp(offsetOf(field(r, OUT)));
  // Two keys at a time, one per lane, each summing its products in order from 0.
  const scales = f64x2.splat(scale);
  let s = 0;
  for (; s + 1 < count; s += 2) {
    const k0 = vp(offsetOf(listed(list + s)) + offset);
    const k1 = vp(offsetOf(listed(list + s + 1)) + offset);
    let acc = f64x2.splat(0);
    for (let j = 0; j < size; j++) acc = f64x2.add(acc, f64x2.mul(v128.load64_splat(at(qp, j)), rowPair(k0, k1, j)));
    v128.store(at(op, s), f64x2.mul(acc, scales));
  }
  if (s < count) {
    const kp = vp(offsetOf(listed(list + s)) + offset);
    let acc: f64 = 0;
    for (let j = 0; j < size; j++) acc += load<f64>(at(qp, j)) * load<f64>(at(kp, j));
    store<f64>(at(op, s), acc * scale);
  }
  store<f64>(at(op, count), scale);
}

function scoresBackward(r: i32): void {
  const offset = field(r, OFFSET);
  const size = field(r, SIZE);
  const count = field(r, COUNT);
  const list = field(r, LIST);
  const qo = offsetOf(field(r, X)) + offset;
  const oo = offsetOf(field(r, OUT));
  const qp = vp(qo);
  const qg = gp(qo);
  const og = gp(oo);
  const scale = load<f64>(at(vp(oo), count));
  for (let s = 0; s < count; s++) {
    const ko = offsetOf(listed(list + s)) + offset;
    const kp = vp(ko);
    const kg = gp(ko);
    const d = load<f64>(at(og, s)) * scale;
    const ds = f64x2.splat(d);
    let j = 0;
    for (; j + 1 < size; j += 2) {
      v128.store(at(qg, j), f64x2.add(v128.load(at(qg, j)), f64x2.mul(ds, v128.load(at(kp, j)))));
      v128.store(at(kg, j), f64x2.add(v128.load(at(kg, j)), f64x2.mul(ds, v128.load(at(qp, j)))));
    }
    if (j < size) {
      store<f64>(at(qg, j), load<f64>(at(qg, j)) + d * load<f64>(at(kp, j)));
      store<f64>(at(kg, j), load<f64>(at(kg, j)) + d * load<f64>(at(qp, j)));
    }
  }
}

export function softmax(x: i32): i32 {
  const n = lengthOf(x);
  const out = alloc(n, 0);
  const r = record(SOFTMAX, out, 1, 5 * n + 1, 5 * n);
  setField(r, X, x);
  softmaxForward(r);
  return out;
}

function softmaxForward(r: i32): void {
  const out = field(r, OUT);
  softmaxInto(offsetOf(field(r, X)), offsetOf(out), lengthOf(out));
}

/** softmax of arena slots [xo, xo + n) into [oo, oo + n), as the scalar graph computes it. */
function softmaxInto(xo: i32, oo: i32, n: i32): void {
  const xp = vp(xo);
  const op = vp(oo);
  // The peak two lanes at a time: max is exact in any order. The sum stays in order, one lane.
  let peaks = f64x2.splat(-Infinity);
  let i = 0;
  for (; i + 1 < n; i += 2) peaks = f64x2.max(peaks, v128.load(at(xp, i)));
  let peak = max<f64>(f64x2.extract_lane(peaks, 0), f64x2.extract_lane(peaks, 1));
  if (i < n) peak = max<f64>(peak, load<f64>(at(xp, i)));
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const e = exp(load<f64>(at(xp, i)) + -peak);
    store<f64>(at(op, i), e);
    total += e;
  }
  const inv = 1.0 / total;
  const invs = f64x2.splat(inv);
  i = 0;
  for (; i + 1 < n; i += 2) v128.store(at(op, i), f64x2.mul(v128.load(at(op, i)), invs));
  if (i < n) store<f64>(at(op, i), load<f64>(at(op, i)) * inv);
}

/** dx = p ⊙ (dy − p·dy). */
function softmaxBackward(r: i32): void {
  const out = field(r, OUT);
  const oo = offsetOf(out);
  const xg = gp(offsetOf(field(r, X)));
  const op = vp(oo);
  const og = gp(oo);
  const n = lengthOf(out);
  let dot: f64 = 0;
  for (let i = 0; i < n; i++) dot += load<f64>(at(op, i)) * load<f64>(at(og, i));
  const dots = f64x2.splat(dot);
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const d = f64x2.mul(v128.load(at(op, i)), f64x2.sub(v128.load(at(og, i)), dots));
    v128.store(at(xg, i), f64x2.add(v128.load(at(xg, i)), d));
  }
  if (i < n) store<f64>(at(xg, i), load<f64>(at(xg, i)) + load<f64>(at(op, i)) * (load<f64>(at(og, i)) - dot));
}

/** One head's output Σ_s w_s · v_s over the `count` values listed from `list`. */
export function mix(weights: i32, list: i32, count: i32, offset: i32, size: i32): i32 {
  const out = alloc(size, 0);
  const r = record(MIX, out, count + 1, 2 * count * size, 4 * count * size + count);
  setField(r, X, weights);
  setField(r, LIST, list);
  setField(r, COUNT, count);
  setField(r, OFFSET, offset);
  setField(r, SIZE, size);
  mixForward(r);
  return out;
}

function mixForward(r: i32): void {
  const offset = field(r, OFFSET);
  const size = field(r, SIZE);
  const count = field(r, COUNT);
  const list = field(r, LIST);
  const wp = vp(offsetOf(field(r, X)));
  const op = vp(offsetOf(field(r, OUT)));
  zero(op, size);
  for (let s = 0; s < count; s++) {
    const w = load<f64>(at(wp, s));
    const ws = f64x2.splat(w);
    const src = vp(offsetOf(listed(list + s)) + offset);
    let j = 0;
    for (; j + 1 < size; j += 2) {
      v128.store(at(op, j), f64x2.add(v128.load(at(op, j)), f64x2.mul(ws, v128.load(at(src, j)))));
    }
    for (; j < size; j++) store<f64>(at(op, j), load<f64>(at(op, j)) + w * load<f64>(at(src, j)));
  }
}

function mixBackward(r: i32): void {
  const offset = field(r, OFFSET);
  const size = field(r, SIZE);
  const count = field(r, COUNT);
  const list = field(r, LIST);
  const wo = offsetOf(field(r, X));
  const wp = vp(wo);
  const wg = gp(wo);
  const og = gp(offsetOf(field(r, OUT)));
  for (let s = 0; s < count; s++) {
    const w = load<f64>(at(wp, s));
    const vo = offsetOf(listed(list + s)) + offset;
    const vv = vp(vo);
    const vg = gp(vo);
    let dw: f64 = 0;
    for (let j = 0; j < size; j++) {
      const d = load<f64>(at(og, j));
      dw += d * load<f64>(at(vv, j));
      store<f64>(at(vg, j), load<f64>(at(vg, j)) + w * d);
    }
    store<f64>(at(wg, s), load<f64>(at(wg, s)) + dw);
  }
}

export function concat(list: i32, count: i32): i32 {
  let n = 0;
  for (let p = 0; p < count; p++) n += lengthOf(listed(list + p));
  const out = alloc(n, 0);
  const r = record(CONCAT, out, count, 0, n);
  setField(r, LIST, list);
  setField(r, COUNT, count);
  concatForward(r);
  return out;
}

function concatForward(r: i32): void {
  const list = field(r, LIST);
  const count = field(r, COUNT);
  let o = vp(offsetOf(field(r, OUT)));
  for (let p = 0; p < count; p++) {
    // Copied two lanes at a time: memory.copy is a call out of the module (to memmove) per part.
    const part = listed(list + p);
    const n = lengthOf(part);
    const src = vp(offsetOf(part));
    let i = 0;
    for (; i + 1 < n; i += 2) v128.store(at(o, i), v128.load(at(src, i)));
    if (i < n) store<f64>(at(o, i), load<f64>(at(src, i)));
    o += <usize>n << 3;
  }
}

function concatBackward(r: i32): void {
  const list = field(r, LIST);
  const count = field(r, COUNT);
  let o = gp(offsetOf(field(r, OUT)));
  for (let p = 0; p < count; p++) {
    const part = listed(list + p);
    const pg = gp(offsetOf(part));
    const n = lengthOf(part);
    let i = 0;
    for (; i + 1 < n; i += 2) v128.store(at(pg, i), f64x2.add(v128.load(at(pg, i)), v128.load(at(o, i))));
    if (i < n) store<f64>(at(pg, i), load<f64>(at(pg, i)) + load<f64>(at(o, i)));
    o += <usize>n << 3;
  }
}

/** −log softmax(logits)[target]; the probabilities are kept after the loss for backward. */
export function crossEntropy(logits: i32, target: i32): i32 {
  const n = lengthOf(logits);
  const out = alloc(1, n);
  const r = record(CROSS_ENTROPY, out, 1, 5 * n + 3, 3 * n);
  setField(r, X, logits);
  setField(r, TARGET, target);
  crossEntropyForward(r);
  return out;
}

function crossEntropyForward(r: i32): void {
  const x = field(r, X);
  const oo = offsetOf(field(r, OUT));
  softmaxInto(offsetOf(x), oo + 1, lengthOf(x));
  store<f64>(vp(oo), -log(load<f64>(vp(oo + 1 + field(r, TARGET)))));
}

/** dx = g·(p − onehot(target)). */
function crossEntropyBackward(r: i32): void {
  const x = field(r, X);
  const target = field(r, TARGET);
  const xg = gp(offsetOf(x));
  const oo = offsetOf(field(r, OUT));
  const pp = vp(oo + 1);
  const d = load<f64>(gp(oo));
  const n = lengthOf(x);
  // Two lanes of g·p (p − 0 is p exactly), then the target's element again from its gradient before.
  const before = load<f64>(at(xg, target));
  const ds = f64x2.splat(d);
  let i = 0;
  for (; i + 1 < n; i += 2) v128.store(at(xg, i), f64x2.add(v128.load(at(xg, i)), f64x2.mul(ds, v128.load(at(pp, i)))));
  if (i < n) store<f64>(at(xg, i), load<f64>(at(xg, i)) + d * load<f64>(at(pp, i)));
  store<f64>(at(xg, target), before + d * (load<f64>(at(pp, target)) - 1.0));
}

export function sum(x: i32): i32 {
  const n = lengthOf(x);
  const out = alloc(1, 0);
  const r = record(SUM, out, 1, n, n);
  setField(r, X, x);
  sumForward(r);
  return out;
}

function sumForward(r: i32): void {
  const x = field(r, X);
  const xp = vp(offsetOf(x));
  let acc: f64 = 0;
  for (let i = 0, n = lengthOf(x); i < n; i++) acc += load<f64>(at(xp, i));
  store<f64>(vp(offsetOf(field(r, OUT))), acc);
}

function sumBackward(r: i32): void {
  const x = field(r, X);
  const xg = gp(offsetOf(x));
  const d = load<f64>(gp(offsetOf(field(r, OUT))));
  const ds = f64x2.splat(d);
  const n = lengthOf(x);
  let i = 0;
  for (; i + 1 < n; i += 2) v128.store(at(xg, i), f64x2.add(v128.load(at(xg, i)), ds));
  if (i < n) store<f64>(at(xg, i), load<f64>(at(xg, i)) + d);
}

/** (Σ x_i) · (1/k) over the k scalars listed from `list`. */
export function mean(list: i32, count: i32): i32 {
  const out = alloc(1, 0);
  const r = record(MEAN, out, count, count + 2, count + 2);
  setField(r, LIST, list);
  setField(r, COUNT, count);
  meanForward(r);
  return out;
}

function meanForward(r: i32): void {
  const list = field(r, LIST);
  const count = field(r, COUNT);
  let acc: f64 = 0;
  for (let i = 0; i < count; i++) acc += load<f64>(vp(offsetOf(listed(list + i))));
  store<f64>(vp(offsetOf(field(r, OUT))), acc * (1.0 / <f64>count));
}

function meanBackward(r: i32): void {
  const list = field(r, LIST);
  const count = field(r, COUNT);
  const d = load<f64>(gp(offsetOf(field(r, OUT)))) * (1.0 / <f64>count);
  for (let i = 0; i < count; i++) {
    const g = gp(offsetOf(listed(list + i)));
    store<f64>(g, load<f64>(g) + d);
  }
}

/** Where the saved programs start (bytes): JavaScript patches their token rows and targets there. */
export function programsAddress(): usize {
  return PROGRAMS;
}

// A saved program, from its start (i32 entries): a header of PROGRAM_HEADER entries (the counts below,
// then the flops as an f64), the tape, the handle offsets and lengths, the handle lists, then its token
// bindings: per token row [handle, matrix offset, cols, token index], per target [tape index, token index].
const P_OPS: i32 = 0;
const P_NODES: i32 = 1;
const P_LISTS: i32 = 2;
const P_ROWS: i32 = 3;
const P_TARGETS: i32 = 4;
const P_SLOTS: i32 = 5;
const P_EDGES: i32 = 6;
const P_FLOPS: i32 = 8;
const PROGRAM_HEADER: i32 = 10;

/**
 * Saves the step just recorded for replay: its tape, handles, its first `listEntries` handle-list
 * entries and, after those in the list region (JavaScript wrote them there), its token bindings,
 * `rowEntries` then `targetEntries` of them. Returns where it starts, in i32 entries.
 */
export function saveProgram(listEntries: i32, rowEntries: i32, targetEntries: i32): i32 {
  const tapeEntries = ops * RECORD;
  const listed = listEntries + rowEntries + targetEntries;
  const need = programTop + PROGRAM_HEADER + tapeEntries + 2 * nodes + listed;
  if (need > programCap) layout(arenaCap, handleCap, recordCap, listCap, liveCap, grownCap(need, programCap), true);
  const start = programTop;
  const h = PROGRAMS + (<usize>start << 2);
  store<i32>(h + (<usize>P_OPS << 2), ops);
  store<i32>(h + (<usize>P_NODES << 2), nodes);
  store<i32>(h + (<usize>P_LISTS << 2), listEntries);
  store<i32>(h + (<usize>P_ROWS << 2), rowEntries);
  store<i32>(h + (<usize>P_TARGETS << 2), targetEntries);
  store<i32>(h + (<usize>P_SLOTS << 2), top);
  store<i32>(h + (<usize>P_EDGES << 2), edges);
  store<f64>(h + (<usize>P_FLOPS << 2), flops);
  let p = h + (<usize>PROGRAM_HEADER << 2);
  memory.copy(p, TAPE, <usize>tapeEntries << 2);
  p += <usize>tapeEntries << 2;
  memory.copy(p, NODE_OFF, <usize>nodes << 2);
  p += <usize>nodes << 2;
  memory.copy(p, NODE_LEN, <usize>nodes << 2);
  p += <usize>nodes << 2;
  memory.copy(p, LISTS, <usize>listed << 2);
  programTop = need;
  return start;
}

/**
 * Runs a saved step's forward pass again, every operation in the tape's order into the vectors it
 * wrote before, reading the saved program where it lies rather than copying it in: its parts are the
 * tape, handles and lists in use until the next reset. This step's token ids are at the start of the
 * (home) list region, written by JavaScript; the program's token rows and targets are patched from them.
 */
export function replay(program: i32): void {
  reset();
  const h = PROGRAMS + (<usize>program << 2);
  const listEntries = load<i32>(h + (<usize>P_LISTS << 2));
  const rowEntries = load<i32>(h + (<usize>P_ROWS << 2));
  const targetEntries = load<i32>(h + (<usize>P_TARGETS << 2));
  ops = load<i32>(h + (<usize>P_OPS << 2));
  nodes = load<i32>(h + (<usize>P_NODES << 2));
  top = load<i32>(h + (<usize>P_SLOTS << 2));
  edges = load<i32>(h + (<usize>P_EDGES << 2));
  flops = load<f64>(h + (<usize>P_FLOPS << 2));
  TAPE = h + (<usize>PROGRAM_HEADER << 2);
  NODE_OFF = TAPE + (<usize>(ops * RECORD) << 2);
  NODE_LEN = NODE_OFF + (<usize>nodes << 2);
  LISTS = NODE_LEN + (<usize>nodes << 2);
  replayedLists = listEntries;
  const tokens = homeLists;
  let b = LISTS + (<usize>listEntries << 2);
  for (const end = b + (<usize>rowEntries << 2); b < end; b += 16) {
    const token = load<i32>(tokens + (<usize>load<i32>(b, 12) << 2));
    store<i32>(NODE_OFF + (<usize>load<i32>(b) << 2), load<i32>(b, 4) + token * load<i32>(b, 8));
  }
  for (const end = b + (<usize>targetEntries << 2); b < end; b += 8) {
    store<i32>(TAPE + (<usize>load<i32>(b) << 2), load<i32>(tokens + (<usize>load<i32>(b, 4) << 2)));
  }
  for (let r = 0, end = ops * RECORD; r < end; r += RECORD) {
    switch (field(r, OP)) {
      case ADD:
        addForward(r);
        break;
      case RMSNORM:
        rmsnormForward(r);
        break;
      case LINEAR:
        linearForward(r);
        break;
      case RELU:
        reluForward(r);
        break;
      case SCORES:
        scoresForward(r);
        break;
      case SOFTMAX:
        softmaxForward(r);
        break;
      case MIX:
        mixForward(r);
        break;
      case CONCAT:
        concatForward(r);
        break;
      case CROSS_ENTROPY:
        crossEntropyForward(r);
        break;
      case SUM:
        sumForward(r);
        break;
      case MEAN:
        meanForward(r);
        break;
    }
  }
}

/** The tape in reverse from the loss (a length-1 vector), each op's gradient in turn. */
export function backward(loss: i32): void {
  store<f64>(gp(offsetOf(loss)), 1);
  for (let r = (ops - 1) * RECORD; r >= 0; r -= RECORD) {
    switch (field(r, OP)) {
      case ADD:
        addBackward(r);
        break;
      case RMSNORM:
        rmsnormBackward(r);
        break;
      case LINEAR:
        linearBackward(r);
        break;
      case RELU:
        reluBackward(r);
        break;
      case SCORES:
        scoresBackward(r);
        break;
      case SOFTMAX:
        softmaxBackward(r);
        break;
      case MIX:
        mixBackward(r);
        break;
      case CONCAT:
        concatBackward(r);
        break;
      case CROSS_ENTROPY:
        crossEntropyBackward(r);
        break;
      case SUM:
        sumBackward(r);
        break;
      case MEAN:
        meanBackward(r);
        break;
    }
  }
}

/** Adam on the two parameters at val (gradients at grad, moments at m1 and m2), as `adam` says. */
@inline function adamPair(
  val: usize,
  grad: usize,
  m1: usize,
  m2: usize,
  b1: v128,
  b2: v128,
  c1: v128,
  c2: v128,
  mc: v128,
  vc: v128,
  lrs: v128,
  epss: v128,
): void {
  const g = v128.load(grad);
  const m = f64x2.add(f64x2.mul(b1, v128.load(m1)), f64x2.mul(c1, g));
  const v = f64x2.add(f64x2.mul(b2, v128.load(m2)), f64x2.mul(c2, f64x2.mul(g, g)));
  v128.store(m1, m);
  v128.store(m2, v);
  const step = f64x2.div(f64x2.mul(lrs, f64x2.div(m, mc)), f64x2.add(f64x2.sqrt(f64x2.div(v, vc)), epss));
  v128.store(val, f64x2.sub(v128.load(val), step));
}

/**
 * microgpt.py's Adam for step `step` (from 0) on the parameters with their gradients, float operation
 * for float operation as workload/adam.ts (divisions, not reciprocals, and V8's pow): lanes take
 * neighbouring parameters, and f64x2 division and square root are IEEE-exact. Computed here, not passed
 * in by JavaScript: a double returned from a JavaScript function that V8 does not inline is a heap
 * allocation.
 */
export function adam(learningRate: f64, steps: f64, step: f64, beta1: f64, beta2: f64, eps: f64): void {
  packedStale = true;
  const lr = learningRate * (1 - step / steps);
  const mCorrection = 1 - pow(beta1, step + 1);
  const vCorrection = 1 - pow(beta2, step + 1);
  const b1 = f64x2.splat(beta1);
  const b2 = f64x2.splat(beta2);
  const c1 = f64x2.splat(1 - beta1);
  const c2 = f64x2.splat(1 - beta2);
  const mc = f64x2.splat(mCorrection);
  const vc = f64x2.splat(vCorrection);
  const lrs = f64x2.splat(lr);
  const epss = f64x2.splat(eps);
  // The regions' addresses as locals, one byte offset for all four: V8 reloads a global on every use.
  const val = VAL;
  const grad = GRAD;
  const m1 = MOMENT1;
  const m2 = MOMENT2;
  const pairs = <usize>(numParams >> 1) << 4;
  // Two pairs a turn: V8 re-splats the constants inside the loop (vmovddup, some from the stack) and
  // checks the stack once a turn, so a turn of two pays those once for four parameters.
  let o: usize = 0;
  for (; o + 32 <= pairs; o += 32) {
    adamPair(val + o, grad + o, m1 + o, m2 + o, b1, b2, c1, c2, mc, vc, lrs, epss);
    adamPair(val + o + 16, grad + o + 16, m1 + o + 16, m2 + o + 16, b1, b2, c1, c2, mc, vc, lrs, epss);
  }
  if (o < pairs) adamPair(val + o, grad + o, m1 + o, m2 + o, b1, b2, c1, c2, mc, vc, lrs, epss);
  for (let i = numParams & ~1; i < numParams; i++) {
    const g = load<f64>(at(GRAD, i));
    const m = beta1 * load<f64>(at(MOMENT1, i)) + (1 - beta1) * g;
    const v = beta2 * load<f64>(at(MOMENT2, i)) + (1 - beta2) * (g * g);
    store<f64>(at(MOMENT1, i), m);
    store<f64>(at(MOMENT2, i), v);
    store<f64>(at(VAL, i), load<f64>(at(VAL, i)) - (lr * (m / mCorrection)) / (sqrt<f64>(v / vCorrection) + eps));
  }
}
