/**
 * What the Markdown and HTML reports both say, as plain data: the job in a sentence, the
 * environment's fields, and the commands that rerun a folder's bench.
 */
import type { ResultsFolder } from '../../bench/results.ts';
import type { CountsRow } from '../../bench/counts/rows.ts';
import type { EngineSummary } from '../../bench/summary.ts';
import { datasetLabel, formatCount, formatGiB, formatMiB, formatSeconds, formatTime } from '../units.ts';

export function jobLine(f: ResultsFolder): string {
  const { bench, config, dataset } = f.env;
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const warmup = bench.warmup > 0 ? ` (after ${plural(bench.warmup, 'warmup run')})` : '';
  return (
    `Each engine ran ${plural(bench.trials, 'timed trial')}${warmup}, each in a fresh Node process: ` +
    `${config.steps} training steps on ${datasetLabel(dataset.source)} (${formatCount(dataset.docs)} docs), ` +
    `seed ${f.env.seed}. Started ${f.env.date}.`
  );
}

export const COST_HEADERS = ['kind', 'wall, median (min–max)', 'start-up', 'user CPU', 'system CPU', 'peak RSS'];

/** What a row's whole process cost, as COST_HEADERS names it; — where not measured. */
export function costCells(s: EngineSummary): string[] {
  const ms = (x: number | null) => (x === null ? '—' : formatSeconds(x));
  return [
    s.external ? 'program' : 'engine',
    s.wallMs ? formatTime(s.wallMs) : '—',
    ms(s.cost.startupMs),
    ms(s.cost.userMs),
    ms(s.cost.systemMs),
    s.cost.maxRssBytes === null ? '—' : formatMiB(s.cost.maxRssBytes),
  ];
}

export const PROCESS_COST_NOTE = [
  'The same footing for every row, over the ok timed trials (medians): wall time of the whole process; start-up,',
  "from an engine's process start to its first training step (loading its code, the dataset and the model);",
  'user and system CPU time and peak RSS as the kernel reports them for the process and its children',
  '(GNU time; peak RSS is the largest single process of the tree, not their sum). — where not measured.',
].join(' ');

/** The environment, a row per field and a column per folder. */
export function environmentRows(folders: readonly ResultsFolder[]): string[][] {
  const field = (name: string, value: (f: ResultsFolder) => string) => [name, ...folders.map(value)];
  return [
    field('date', (f) => f.env.date),
    field('Node / V8', (f) => `${f.env.node} / ${f.env.v8}`),
    field('CPU', (f) => `${f.env.cpu.model} × ${f.env.cpu.count}`),
    field('OS', (f) => `${f.env.os.platform} ${f.env.os.release} ${f.env.os.arch}`),
    field('memory', (f) => formatGiB(f.env.totalMemoryBytes)),
    field('git commit', (f) =>
      f.env.git.commit ? `${f.env.git.commit}${f.env.git.dirty ? ' (uncommitted changes)' : ''}` : 'unknown',
    ),
    field('dataset', (f) => `${f.env.dataset.source} (${formatCount(f.env.dataset.docs)} docs)`),
    field('dataset sha256', (f) => f.env.dataset.sha256),
    field('config', (f) =>
      Object.entries(f.env.config)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ),
    field(
      'trials',
      (f) =>
        `${f.env.bench.trials} timed, ${f.env.bench.warmup} warmup, timeout ${f.env.bench.timeoutSeconds} s per run`,
    ),
    field('Node flags', (f) => nodeFlags(f) || 'none'),
    field('results folder', (f) => f.dir),
  ];
}

/** The shell lines that rerun a folder's bench, and whether its tree had uncommitted changes. */
export function reproduceCommands(f: ResultsFolder): { lines: string[]; dirty: boolean } {
  const { git, command } = f.env;
  const plugin =
    (command.nodeOptions ? `NODE_OPTIONS=${shellQuote(command.nodeOptions)} ` : '') +
    (command.enginesModule ? `MICROGPT_BENCH_ENGINES=${shellQuote(command.enginesModule)} ` : '');
  const bench = `${plugin}npm run bench:all --${benchArgs(command.args)
    .map((a) => ` ${shellQuote(a)}`)
    .join('')}`;
  return { lines: [...(git.commit ? [`git checkout ${git.commit}`] : []), 'npm ci', bench], dirty: git.dirty === true };
}

/** The note a dirty tree gets under its commands. */
export const DIRTY_NOTE = 'The tree had uncommitted changes, which this commit alone does not restore.';

/** $NODE_OPTIONS and the bench's own Node flags, which every run inherited. */
function nodeFlags(f: ResultsFolder): string {
  const { nodeOptions, execArgv } = f.env.command;
  return [...(nodeOptions ? [`NODE_OPTIONS=${nodeOptions}`] : []), ...execArgv].join(' ');
}

/** The arguments that decide the figures: where the output went (--out, --report) does not. */
function benchArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out' || args[i] === '--report') i++;
    else if (!/^--(out|report)=/.test(args[i])) out.push(args[i]);
  }
  return out;
}

export function shellQuote(s: string): string {
  // A placeholder such as {steps} means nothing to a shell ({a,b} would).
  const plain = s.replace(/\{[a-z][a-z0-9-]*\}/g, 'x');
  return /^[\w@%+=:,./-]+$/.test(plain) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export const COUNTS_HEADERS = [
  'kind',
  'steps counted',
  'instructions/step',
  'est. cycles/step',
  'L1 miss rate',
  'LL miss rate',
  'whole process: instructions',
  'est. cycles',
  'measured ms/step',
];

/** A count row's cells, as COUNTS_HEADERS names them, beside the timed runs' median time per step. */
export function countsCells(c: CountsRow, measuredMsPerStep: number | null, external: boolean): string[] {
  const per = (x: number | undefined) => (x === undefined ? '—' : formatCount(x));
  const rate = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(2)}%`);
  const basis = c.basis === 'whole process' ? ' (whole process)' : '';
  const steps = c.skipped > 0 ? `${c.skipped + 1}–${c.skipped + c.steps}` : String(c.steps);
  if (c.counts === null) return [external ? 'program' : 'engine', steps, `failed: ${c.fault}`, ...Array(6).fill('—')];
  return [
    external ? 'program' : 'engine',
    steps,
    per(c.perStep?.instructions) + basis,
    per(c.perStep?.estimatedCycles) + basis,
    rate(c.l1MissRate),
    rate(c.llMissRate),
    formatCount(c.counts.whole.instructions),
    formatCount(c.counts.whole.estimatedCycles),
    measuredMsPerStep === null ? '—' : measuredMsPerStep.toPrecision(3),
  ];
}

/** The timed runs' median training time per step (a program's printed one, else its wall time). */
export function measuredMsPerStep(s: EngineSummary, steps: number): number | null {
  const ms = s.timeMs?.median ?? (s.external ? s.wallMs?.median : undefined);
  return ms === undefined ? null : ms / steps;
}

export const COUNTS_NOTE = [
  'Counted once per engine and program under valgrind (callgrind with its cache simulation, the same simulated',
  'caches on every machine: I1 and D1 32 KiB 8-way, LL 8 MiB 16-way, 64-byte lines), on the count job: the',
  'timed job cut to the steps shown (with --count-skip, an engine runs the steps before the range uncounted).',
  'Node runs with --predictable --predictable-gc-schedule --hash-seed=1',
  '--random-seed=1, so two counts of one job agree to within 0.01%. Per step is per training step: an engine',
  'marks its first and last step (os.getPriority(), before which callgrind dumps its counters), so its start-up',
  'and sampling are left out; a program is counted whole, its start-up in its figure. Estimated cycles are',
  "Turner-Trauring's L1 hits + 5 × LL hits + 35 × memory accesses, as iai-callgrind uses. Miss rates are misses",
  "per access (instruction fetches, data reads and writes). Measured ms/step is the timed trials' median",
  "training time (a program's printed one, else its wall time) over the timed job's steps.",
].join(' ');
