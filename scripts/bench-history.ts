import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { ENGINES, EngineRegistry } from '../engines/registry.ts';
import { InputError } from '../engines/input-error.ts';
import { valgrindVersion } from '../scenarios/bench/counts/callgrind.ts';
import { buildWorker } from '../scenarios/bench/worker-build.ts';
import { makeDirs, probeDir, writeFileAtomic } from '../scenarios/files.ts';
import { bisect, BisectInputError, readingOf } from '../scenarios/history/bisect.ts';
import { sourceModule, type EngineSource } from '../scenarios/history/checkout.ts';
import {
  commitsOf,
  hasPath,
  isAncestor,
  repoRoot,
  resolveRevision,
  type CommitInfo,
} from '../scenarios/history/git.ts';
import type { MeasureSetup } from '../scenarios/history/measure.ts';
import {
  flaggedLines,
  historyCsv,
  historyHtml,
  historyMarkdown,
  historyTable,
  historyText,
} from '../scenarios/history/table.ts';
import { measurer, walk, type HistoryOptions } from '../scenarios/history/walk.ts';
import { formatElapsed } from '../scenarios/output/units.ts';
import { loadDataset } from '../workload/dataset.ts';
import { command, CommandError, intFlag, numberFlag, stopOnSignals, timeoutFlag, type FlagValues } from './cli.ts';
import { JOB_FLAGS, JOB_HELP, configFromFlags, enginesFlag } from './job-flags.ts';
import { assertRereadable } from './child-data.ts';
import { displayPath } from './output-paths.ts';
import { PROJECT_ROOT, RESULTS_DIR } from './paths.ts';
import { DEFAULT_COUNT_STEPS, DEFAULT_TIMEOUT_SECONDS } from './run-flags.ts';

const HISTORY_DIR = join(RESULTS_DIR, 'history');
/** Where commits' trees and dependencies are staged: under node_modules, so a bundle finds today's packages. */
const WORK_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'microgpt-bench', 'history');
const DEFAULT_THRESHOLD = 1;
const FILES = ['history.md', 'history.csv', 'history.html'] as const;

const help = () => `Usage: npm run bench:history -- --commits REV-RANGE [options]
       npm run bench:history -- --bisect --good REV --bad REV --engine NAME [options]

Measures engines as they stood at each commit of REV-RANGE (git rev-list's order, oldest first) with
today's harness: by default this repository's engines (each commit's engines/registry.ts, bundled
and loaded as plugin engines; they get only today's node_modules), or with --repo and --module the
plugin engines exported by the module at PATH in another git repository (its package-lock.json, if
any, installed once per lockfile). Each engine's job is counted under valgrind (--count-steps), as
bench:all --counts does; timed trials are optional. A commit whose engines do not build, load or
run is a failed row. Each commit's results stay in <out>/<commit>/ (env.json, runs.jsonl,
history.json), and a commit measured before for the same job, options and harness is not measured
again (--rerun measures it again).

Options:
  --commits REV-RANGE  the commits: A..B, or one revision (it and its ancestors)
  --first-parent       only the commits on the first-parent line (merges stand for their branches)
  --repo DIR           a git repository of plugin engines (default: this harness's own)
  --module PATH        with --repo: the module, inside the repository, exporting \`engines\`
  --engines a,b        the engines to measure (default: all the commit has; for this repository,
                       ${ENGINES.map((e) => e.name).join(',')})
  --count-steps N      the count job's steps (default ${DEFAULT_COUNT_STEPS}, or the job's if fewer)
  --trials N           timed trials per engine and commit, one commit at a time (default 0)
  --no-counts          timed trials only (needs --trials): the table then shows training time
  --count-jobs N       commits measured at once (default ${availableParallelism()}, one per core; 1 with --trials)
  --timeout SECONDS    limit per run (default ${DEFAULT_TIMEOUT_SECONDS})
  --threshold PCT      flag a change from one commit to the next beyond ±PCT percent (default ${DEFAULT_THRESHOLD})
  --rerun              measure every commit again, replacing its folder
  --out DIR            results root (default results/history); the walk's table goes to
                       ${FILES.map((f) => `DIR/${f}`).join(', ')}
  --bisect             binary search for the first commit after --good whose estimated cycles per
                       step exceed --good's by more than --threshold percent, on --engine, up to
                       --bad; at most ceil(log2(n)) + 2 commits measured for n in GOOD..BAD (a commit
                       that fails is skipped, as git bisect skip does, and said)
  --good REV, --bad REV, --engine NAME
                       with --bisect
  --help               show this help
${JOB_HELP}`;

const FLAGS = {
  ...JOB_FLAGS,
  commits: { type: 'string' },
  'first-parent': { type: 'boolean' },
  repo: { type: 'string' },
  module: { type: 'string' },
  engines: { type: 'string' },
  'count-steps': { type: 'string' },
  trials: { type: 'string' },
  'no-counts': { type: 'boolean' },
  'count-jobs': { type: 'string' },
  timeout: { type: 'string' },
  threshold: { type: 'string' },
  rerun: { type: 'boolean' },
  out: { type: 'string' },
  bisect: { type: 'boolean' },
  good: { type: 'string' },
  bad: { type: 'string' },
  engine: { type: 'string' },
} as const;
type Values = FlagValues<typeof FLAGS>;

/** --repo and --module: where the engines come from. */
function sourceFlags(v: Values): EngineSource {
  if (v.repo === undefined) {
    if (v.module !== undefined) throw new InputError('--module needs --repo');
    return { kind: 'harness', repo: repoRoot(PROJECT_ROOT) };
  }
  if (v.module === undefined) throw new InputError('--repo needs --module (the module exporting `engines`)');
  const module = v.module.replace(/^\.\//, '');
  if (module === '' || module.startsWith('/') || module.split('/').includes('..'))
    throw new InputError(`--module ${v.module}: expected a path inside the repository`);
  return { kind: 'plugin', repo: repoRoot(resolve(v.repo)), module };
}

/** The engines asked for: for this repository checked against today's names; a plugin's as given. */
function enginesWanted(v: Values, source: EngineSource): string[] | null {
  if (v.engines === undefined) return source.kind === 'harness' ? ENGINES.map((e) => e.name) : null;
  if (source.kind === 'harness') return enginesFlag(new EngineRegistry(ENGINES), v.engines).map((e) => e.name);
  const names = v.engines
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new InputError('--engines: empty list');
  return [...new Set(names)];
}

/** Which commits: the range's, or for --bisect GOOD..BAD and GOOD itself. */
function commitsFlags(v: Values, repo: string) {
  const firstParent = v['first-parent'] === true;
  if (v.bisect !== true) {
    for (const flag of ['good', 'bad', 'engine'] as const)
      if (v[flag] !== undefined) throw new InputError(`--${flag} needs --bisect`);
    if (v.commits === undefined) throw new InputError('--commits REV-RANGE is required (or --bisect)');
    return { commits: commitsOf(repo, v.commits, '--commits', firstParent), good: null };
  }
  if (v.commits !== undefined) throw new InputError('--bisect takes --good and --bad, not --commits');
  if (v.good === undefined || v.bad === undefined) throw new InputError('--bisect needs --good REV and --bad REV');
  if (v.engine === undefined) throw new InputError('--bisect needs --engine NAME');
  const good = resolveRevision(repo, v.good, '--good');
  const bad = resolveRevision(repo, v.bad, '--bad');
  if (!isAncestor(repo, good, bad)) throw new InputError(`--good ${v.good} is not an ancestor of --bad ${v.bad}`);
  const commits = commitsOf(repo, `${good}..${bad}`, '--good..--bad', firstParent);
  const goodInfo = commitsOf(repo, `${good}^!`, '--good')[0] ?? commitsOf(repo, good, '--good').at(-1)!;
  return { commits, good: goodInfo };
}

/** Every flag checked and the range resolved, before anything is written. */
function historySetup(v: Values) {
  const source = sourceFlags(v);
  const { commits, good } = commitsFlags(v, source.repo);
  const module = sourceModule(source);
  const all = good ? [good, ...commits] : commits;
  if (!all.some((c) => hasPath(source.repo, c.commit, module)))
    throw new InputError(`${source.kind === 'plugin' ? '--module ' : ''}${module} is at no commit of the range`);
  const trials = intFlag('trials', v.trials, 0, 0);
  const counts = v['no-counts'] !== true;
  if (!counts && trials === 0) throw new InputError('--no-counts needs --trials N (N ≥ 1)');
  if (!counts && v['count-steps'] !== undefined) throw new InputError('--count-steps needs counts (drop --no-counts)');
  if (v.bisect && !counts) throw new InputError('--bisect decides on counts: drop --no-counts');
  if (counts && valgrindVersion() === null)
    throw new InputError('counts need valgrind, which is not installed (apt-get install valgrind); or --no-counts');
  const engines = v.bisect ? [v.engine!] : enginesWanted(v, source);
  if (v.bisect && source.kind === 'harness') enginesFlag(new EngineRegistry(ENGINES), v.engine);
  const threshold = numberFlag(
    'threshold',
    v.threshold,
    DEFAULT_THRESHOLD,
    (n) => n >= 0 && n < 100,
    'a percentage ≥ 0 and < 100',
  );
  const dataset = loadDataset(v.data);
  if (v.data !== undefined) assertRereadable(dataset, v.data);
  const out = resolve(v.out ?? HISTORY_DIR);
  try {
    makeDirs(out);
    probeDir(out);
  } catch {
    throw new InputError(`--out ${v.out ?? displayPath(out)}: cannot write in it`);
  }
  return {
    source,
    commits,
    good,
    engines,
    trials,
    countSteps: counts ? intFlag('count-steps', v['count-steps'], DEFAULT_COUNT_STEPS) : null,
    concurrency: trials > 0 ? 1 : intFlag('count-jobs', v['count-jobs'], availableParallelism()),
    timeoutSeconds: timeoutFlag(v.timeout, DEFAULT_TIMEOUT_SECONDS),
    threshold,
    rerun: v.rerun === true,
    out,
    config: configFromFlags(v),
    dataset,
    dataPath: v.data === undefined ? null : resolve(v.data),
  };
}
type Setup = ReturnType<typeof historySetup>;

const say = (line = '') => process.stdout.write(line + '\n');
const tell = (line: string) => process.stderr.write(line + '\n');
const short = (c: CommitInfo) => c.commit.slice(0, 10);

async function runWalk(s: Setup, o: HistoryOptions): Promise<number> {
  const m = measurer(o);
  const started = performance.now();
  const records = await walk(s.commits, o, m, s.concurrency);
  if (records === null) {
    tell('interrupted: every commit settled so far is kept in its folder; run the same command to go on');
    return 1;
  }
  const table = historyTable(records, s.threshold, s.countSteps === null ? 'time' : 'cycles');
  historyText(table).forEach((line) => say(line));
  say();
  const flagged = flaggedLines(table);
  say(flagged.length === 0 ? `No change beyond ±${s.threshold}%.` : `Beyond ±${s.threshold}%:`);
  flagged.forEach((line) => say(`  ${line}`));
  const where = o.source.kind === 'harness' ? 'this repository' : o.source.repo;
  const title = `microgpt-bench: engines over ${s.commits.length} commits of ${where}`;
  writeFileAtomic(join(s.out, 'history.md'), `# ${title}\n\n${historyMarkdown(table)}`);
  writeFileAtomic(join(s.out, 'history.csv'), historyCsv(table));
  writeFileAtomic(join(s.out, 'history.html'), await historyHtml(table, title));
  say();
  say(
    `${m.measured.length} commits measured, ${m.reused.length} reused, ` +
      `${m.installs.length} dependency installs, ${m.same.length} the same engines as a commit measured, ` +
      `in ${formatElapsed(performance.now() - started)}`,
  );
  say(`Table: ${FILES.map((f) => displayPath(join(s.out, f))).join(', ')}`);
  return 0;
}

async function runBisect(s: Setup, o: HistoryOptions): Promise<number> {
  const engine = s.engines![0];
  const m = measurer(o);
  const bound = Math.ceil(Math.log2(s.commits.length)) + 2;
  let result;
  try {
    result = await bisect(s.good!, s.commits, s.threshold, async (c) => {
      const settled = await m.record(c);
      if (settled === null) throw new Interrupted();
      const reading = readingOf(settled.record, engine);
      const what =
        'value' in reading
          ? `${Math.round(reading.value).toLocaleString('en-US')} est. cycles/step`
          : `skipped (${reading.failed})`;
      tell(`${short(c)} ${settled.how}: ${engine} ${what} — ${c.subject}`);
      return reading;
    });
  } catch (err) {
    if (err instanceof Interrupted) {
      tell('interrupted: the commits measured so far are kept; run the same command to go on');
      return 1;
    }
    if (err instanceof BisectInputError) throw new CommandError(err.message);
    throw err;
  }
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;
  const { outcome } = result;
  if (outcome.kind === 'found')
    say(
      `First commit slower than ${short(s.good!)} by more than ${s.threshold}% on ${engine}: ${short(outcome.first)} ` +
        `${outcome.first.subject} (${pct(outcome.change)} est. cycles/step: ` +
        `${Math.round(result.good).toLocaleString('en-US')} → ${Math.round(outcome.value).toLocaleString('en-US')})`,
    );
  else if (outcome.kind === 'ambiguous')
    say(
      `The first slower commit is one of ${outcome.candidates.map((c) => `${short(c)} (${c.subject})`).join(', ')}: ` +
        'the others could not be measured',
    );
  else
    say(
      `${short(s.commits.at(-1)!)} is not slower than ${short(s.good!)} by more than ${s.threshold}% ` +
        `(${pct(outcome.change)})`,
    );
  for (const c of result.skipped) say(`skipped ${short(c)} ${c.subject}: its engine did not build, load or run`);
  say(
    `${result.probes.length} commits looked at of ${s.commits.length + 1} ` +
      `(at most ceil(log2(${s.commits.length})) + 2 = ${bound} without skips): ` +
      `${m.measured.length} measured, ${m.reused.length} from earlier runs, ` +
      `${m.installs.length} dependency installs, ${m.same.length} the same engines as a commit measured`,
  );
  return 0;
}

class Interrupted extends Error {}

command({
  help,
  flags: FLAGS,
  async run({ values }) {
    const s = historySetup(values);
    const interrupt = stopOnSignals();
    const setup: MeasureSetup = {
      config: s.config,
      dataset: s.dataset,
      dataPath: s.dataPath,
      countSteps: s.countSteps,
      trials: s.trials,
      timeoutSeconds: s.timeoutSeconds,
      engines: s.engines,
      source: s.source.kind === 'harness' ? 'harness' : `${s.source.repo}:${s.source.module}`,
      worker: await buildWorker(),
    };
    const o: HistoryOptions = {
      source: s.source,
      setup,
      out: s.out,
      work: WORK_DIR,
      rerun: s.rerun,
      signal: interrupt.signal,
      say: tell,
    };
    const code = values.bisect ? await runBisect(s, o) : await runWalk(s, o);
    interrupt.dispose();
    process.exitCode = interrupt.exitCode() || code;
  },
});
