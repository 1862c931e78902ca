/**
 * Instruction counts that do not depend on how busy the machine is: a command run under valgrind's
 * callgrind with its cache simulation, which counts what the program executes, not how long it took.
 * The caches simulated are fixed (not read off this CPU), so two machines count alike; Node runs with
 * the flags that make V8 deterministic (no concurrent compiler or GC threads, fixed hash and random
 * seeds), and child processes are counted too.
 *
 * The training job apart from start-up: a worker marks the job's first and last step by calling
 * `os.getPriority()` (libuv's uv_os_getpriority, which nothing else in Node calls), and callgrind
 * dumps its counters before every call: part 1 is start-up, part 2 the training steps, the rest is
 * what follows (sampling, exit). A program that makes no such call is counted whole.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { estimatedCycles } from './cycles.ts';
import { AddressOwners, parsePerfMap, readFunctionProfile, type FunctionProfile } from './functions.ts';
import { perfMapPath, perfMarksPath, removePerfFiles } from './perf-map.ts';

/** The function whose calls mark the training job's bounds, and the call that reaches it. */
export const MARKER_FUNCTION = 'uv_os_getpriority';

/**
 * V8 without background threads, seeds of its own, or a GC schedule that follows the clock; with
 * `gc()`, which a count run calls before its first step (kinds/counts-run.ts); and without bytecode
 * flushing, which drops the bytecode of functions unused for some GCs: how many GCs start-up makes
 * depends on the event loop's timing, and a function flushed is compiled again in the steps. With it,
 * two counts of 20 steps of tape were 1.5e-4 apart; without it, 4 instructions of 435 million.
 * Then the perf map that names the code V8 compiles (functions.ts), and the log the map turns on,
 * into a temporary file of V8's own that is gone when the process ends (`+`): without the flag every
 * count run leaves an isolate-*-v8.log in its working directory, and `--logfile=/dev/null` sends
 * the log to the program's stdout (some 50 lines of `new,MemoryChunk,…` in a count run's record).
 */
export const DETERMINISTIC_NODE_FLAGS = [
  '--predictable',
  '--predictable-gc-schedule',
  '--hash-seed=1',
  '--random-seed=1',
  '--expose-gc',
  '--no-flush-bytecode',
  '--perf-basic-prof',
  '--no-logfile-per-isolate',
  '--logfile=+',
] as const;

/** CPython's string hashes are seeded at random unless this is set. */
export const DETERMINISTIC_ENV: Readonly<Record<string, string>> = { PYTHONHASHSEED: '0' };

/**
 * What a counted process runs without. With NODE_EXTRA_CA_CERTS set (some CI images and sandboxes
 * set it to the system's whole CA bundle), Node parses every certificate at start: 416M of bare
 * `node -e 0`'s 500M instructions here, 89M without. A training job opens no TLS connection, and a
 * whole-process count should not depend on a setting of the machine's.
 */
export const COUNTED_UNSET_ENV: readonly string[] = ['NODE_EXTRA_CA_CERTS'];

/** I1, D1: 32 KiB 8-way, LL: 8 MiB 16-way, 64-byte lines; a common x86 core, the same on every machine. */
export const CACHE_GEOMETRY = { I1: '32768,8,64', D1: '32768,8,64', LL: '8388608,16,64' } as const;

/** callgrind's events with --cache-sim=yes, in its order. */
const EVENTS = ['Ir', 'Dr', 'Dw', 'I1mr', 'D1mr', 'D1mw', 'ILmr', 'DLmr', 'DLmw'] as const;
type Event = (typeof EVENTS)[number];

/** What callgrind counted over a stretch of a run. */
export interface CacheCounts {
  /** Instructions executed. */
  readonly instructions: number;
  /** Data reads and writes. */
  readonly dataReads: number;
  readonly dataWrites: number;
  /** Instruction and data reads and writes that missed L1 (I1mr + D1mr + D1mw). */
  readonly l1Misses: number;
  /** Those that missed the last level too, i.e. went to memory (ILmr + DLmr + DLmw). */
  readonly llMisses: number;
  /** L1 hits + 5 × LL hits + 35 × memory accesses (see estimatedCycles). */
  readonly estimatedCycles: number;
}

/** A counted process tree: all of it, and the training steps alone where the program marked them. */
export interface ProcessCounts {
  readonly whole: CacheCounts;
  readonly training: CacheCounts | null;
  /** How many processes were counted (the command and its children). */
  readonly processes: number;
  /** Per function: of the training steps where the program marked them, else of the whole (null in older folders). */
  readonly functions?: FunctionProfile | null;
}

export { estimatedCycles };

let version: string | null | undefined;

/** `valgrind --version` ("valgrind-3.19.0"), or null when it cannot be run (checked once). */
export function valgrindVersion(): string | null {
  if (version === undefined) {
    try {
      const out = execFileSync('valgrind', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      version = out.trim().startsWith('valgrind-') ? out.trim() : null;
    } catch {
      version = null;
    }
  }
  return version;
}

/**
 * The job a count run trains: the timed job cut to `skip` + `countSteps` steps (a job of that length,
 * its own schedule), of which the steps after the first `skip` are counted (fewer if the job is shorter).
 */
export function countJob<C extends { steps: number }>(config: C, countSteps: number, skip = 0): C {
  return { ...config, steps: Math.min(skip + countSteps, config.steps) };
}

/** The steps a count job counts: those after the `skip` it runs first (none if it runs no more). */
export function countedSteps(countJobSteps: number, skip: number): number {
  return Math.max(0, countJobSteps - skip);
}

/** The valgrind options every count uses (recorded with the results: counts made with others are not compared). */
export const CALLGRIND_OPTIONS: readonly string[] = [
  '--tool=callgrind',
  '--cache-sim=yes',
  ...Object.entries(CACHE_GEOMETRY).map(([level, geometry]) => `--${level}=${geometry}`),
  '--trace-children=yes',
  // A file per thread: the marks dump the marking thread's counters, and the training steps are
  // the main thread's alone, as V8 runs them with --predictable (libuv's and Node's other threads
  // wake on their own clocks).
  '--separate-threads=yes',
  `--dump-before=${MARKER_FUNCTION}`,
  '--dump-instr=yes',
];

/** One counted command's files: callgrind's dumps and valgrind's own messages, kept off the program's stderr. */
export interface CallgrindRun {
  readonly argv: string[];
  /** The counts once the command has ended; null if callgrind wrote nothing (killed, or never started). */
  read(): ProcessCounts | null;
}

/** Runs `argv` under callgrind, its files in a fresh folder under `dir` (removed once read). */
export function callgrindRun(argv: readonly string[], dir = tmpdir()): CallgrindRun {
  const out = mkdtempSync(join(dir, 'microgpt-bench-counts-'));
  return {
    argv: [
      'valgrind',
      ...CALLGRIND_OPTIONS,
      `--callgrind-out-file=${join(out, 'callgrind.%p')}`,
      `--log-file=${join(out, 'valgrind.%p.log')}`,
      ...argv,
    ],
    read() {
      try {
        return readCounts(out);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The counts in a folder of callgrind files: `callgrind.<pid>-<thread>` (a thread's last part) and
 * `callgrind.<pid>.<n>-<thread>` (its dumps). Every part of every thread of every process adds to
 * the whole; the training job is part 2 of the one thread that dumped twice. Per function: the
 * training part's, its JIT code named by its process's perf map; else (a program) every file's.
 * The perf maps and marks of the processes counted are removed once read.
 */
export function readCounts(dir: string): ProcessCounts | null {
  const threads = new Map<string, Map<number, { events: Record<Event, number>; path: string }>>();
  const pids = new Set<string>();
  const seen = new Set<string>();
  for (const file of readdirSync(dir)) {
    const m = /^callgrind\.(\d+)(?:\.(\d+))?-(\d+)$/.exec(file);
    if (!m) continue;
    // Every process's perf map is removed, counted or not (a file cut short still had a process).
    seen.add(m[1]);
    const path = join(dir, file);
    const events = parseCallgrindFile(readHeader(path));
    if (events === null) continue;
    pids.add(m[1]);
    const key = `${m[1]}-${m[3]}`;
    const parts = threads.get(key) ?? new Map<number, { events: Record<Event, number>; path: string }>();
    parts.set(m[2] === undefined ? Infinity : Number(m[2]), { events, path });
    threads.set(key, parts);
  }
  try {
    if (threads.size === 0) return null;
    const all = [...threads.values()].flatMap((p) => [...p.values()]);
    const markedKeys = [...threads.keys()].filter((k) => {
      const p = threads.get(k)!;
      return p.has(1) && p.has(2) && !p.has(3);
    });
    const marked = markedKeys.length === 1 ? threads.get(markedKeys[0])!.get(2)! : null;
    const training = marked ? cacheCounts(marked.events) : null;
    const functions = marked
      ? readFunctionProfile([marked.path], perfMapOwners(markedKeys[0].split('-')[0]))
      : readFunctionProfile(
          all.map((p) => p.path),
          null,
        );
    return { whole: cacheCounts(sum(all.map((p) => p.events))), training, processes: pids.size, functions };
  } finally {
    for (const pid of seen) removePerfFiles(pid);
  }
}

/** Who owns which JIT address in the steps, from the process's perf map and marks; null without a map. */
function perfMapOwners(pid: string): AddressOwners | null {
  if (!existsSync(perfMapPath(pid))) return null;
  const marks = existsSync(perfMarksPath(pid))
    ? readFileSync(perfMarksPath(pid), 'utf8').trim().split(' ').map(Number)
    : [];
  const [start, end] = marks.length === 2 && marks.every(Number.isFinite) ? marks : [0, Infinity];
  return new AddressOwners(parsePerfMap(readFileSync(perfMapPath(pid), 'utf8')), { start, end });
}

/** A callgrind file's header, where its `summary:` line is (the whole file if it has none there). */
function readHeader(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1 << 16);
    const head = buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0));
    return /^summary: /m.test(head) ? head : readFileSync(path, 'latin1');
  } finally {
    closeSync(fd);
  }
}

/** A callgrind file's totals by event; null if it has none (cut short). */
export function parseCallgrindFile(text: string): Record<Event, number> | null {
  const names = /^events: (.+)$/m.exec(text)?.[1].trim().split(/\s+/);
  const totals = /^(?:summary|totals): (.+)$/m.exec(text)?.[1].trim().split(/\s+/).map(Number);
  if (!names || !totals) return null;
  const byName = Object.fromEntries(names.map((n, i) => [n, totals[i] ?? 0]));
  if (!EVENTS.every((e) => Number.isFinite(byName[e]))) return null;
  return Object.fromEntries(EVENTS.map((e) => [e, byName[e]])) as Record<Event, number>;
}

function sum(parts: readonly Record<Event, number>[]): Record<Event, number> {
  return Object.fromEntries(EVENTS.map((e) => [e, parts.reduce((s, p) => s + p[e], 0)])) as Record<Event, number>;
}

function cacheCounts(e: Record<Event, number>): CacheCounts {
  const l1Misses = e.I1mr + e.D1mr + e.D1mw;
  const llMisses = e.ILmr + e.DLmr + e.DLmw;
  return {
    instructions: e.Ir,
    dataReads: e.Dr,
    dataWrites: e.Dw,
    l1Misses,
    llMisses,
    estimatedCycles: estimatedCycles(e.Ir + e.Dr + e.Dw, l1Misses, llMisses),
  };
}
