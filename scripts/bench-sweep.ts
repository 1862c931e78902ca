import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EngineRegistry } from '../engines/registry.ts';
import { captureEnv } from '../scenarios/bench/env.ts';
import { countsKind, gradcheckKind, trainKind } from '../scenarios/bench/kinds/index.ts';
import { countJob } from '../scenarios/bench/counts/callgrind.ts';
import { countExecutor } from '../scenarios/bench/counts/executor.ts';
import { processExecutor } from '../scenarios/bench/process-executor.ts';
import { appendRun, prepareResultsDir, readResultsFolder, startResults } from '../scenarios/bench/results.ts';
import { resourceMeter } from '../scenarios/bench/resource-meter.ts';
import { roundsOf, schedule, type Task } from '../scenarios/bench/scheduler.ts';
import type { RunRecord } from '../scenarios/bench/job-kind.ts';
import { summarize } from '../scenarios/bench/summary.ts';
import { workerFor, type WorkerBuild } from '../scenarios/bench/worker-build.ts';
import { fitLines, sweepReport } from '../scenarios/output/export/sweep.ts';
import { RunProgress } from '../scenarios/output/progress.ts';
import { formatElapsed } from '../scenarios/output/units.ts';
import { writeFileAtomic } from '../scenarios/files.ts';
import { Budget } from '../scenarios/sweep/budget.ts';
import { mergeSweeps, readSweepFolder, SWEEP_FILE, type SweepFile } from '../scenarios/sweep/folder.ts';
import { analyticFlopsPerStep, pointLabel, type Skips } from '../scenarios/sweep/points.ts';
import { loadDataset } from '../workload/dataset.ts';
import type { TrainConfig } from '../workload/config.ts';
import { InputError } from '../engines/input-error.ts';
import { command, numberFlag, stopOnSignals, type FlagValues } from './cli.ts';
import { JOB_FLAGS, JOB_HELP } from './job-flags.ts';
import { checkCountSkip, RUN_FLAGS, runFlags, runFlagsHelp } from './run-flags.ts';
import { displayPath, outputDir, pageBesideFlag, reportFileFlag } from './output-paths.ts';
import { dataPathForChildren } from './child-data.ts';
import { RESULTS_DIR, timestamp } from './paths.ts';
import { parseVary, sweepGrid, VARY_KEYS } from './sweep-flags.ts';
import { shardFlag } from './shard-flag.ts';

const POINTS_DIR = 'points';
const POINTS_CSV = 'points.csv';

const help = (engines: EngineRegistry) => `Usage: npm run bench:sweep -- --vary KEY=V1,V2,… [--vary …] [options]

Runs the training job over a grid of jobs: the cartesian product of the --vary axes, the other job
flags fixed. At each point, every engine's trials run in fresh Node processes, round-robin, as in
bench:all; --check adds each point's gradient check. Then it fits, per engine, how the time per step
grows with the model: the slope of log(ms/step) on log(parameters) and on log(flops/step), with R².

Options:
  --vary KEY=V1,V2,…   a job flag and its values, taken in increasing order (repeatable; the first is
                       the outermost axis). KEY is one of: ${VARY_KEYS.join(', ')}
${runFlagsHelp(engines, ' and point')}
  --check              also run each engine's gradient check at every point
  --shard i/n          run only the i-th of n parts of the (point × engine × run) list, every n-th run
                       from the i-th, so that n machines share one sweep; \`npm run report -- DIR…\`
                       merges the n folders (not with --budget, which needs every time in one place).
                       --shard auto takes i and n from a Slurm job array (SLURM_ARRAY_TASK_ID, _MIN,
                       _COUNT); --shard auto/n takes i from Kubernetes' JOB_COMPLETION_INDEX (or Slurm)
  --budget SECONDS     an engine whose median training time at a point exceeds this sits out every
                       larger point (at least as large along n-embd, n-layer, block-size, steps and
                       samples, the other axes equal), recorded as "skipped: over budget at …"
  --out DIR            sweep folder, new or empty (default results/sweep-<timestamp>/)
  --report FILE        the Markdown report (default reports/<sweep folder name>.md); the HTML page
                       with its log-log chart goes beside it, ending in .html
  --no-page            write no HTML page, only the Markdown report and points.csv (\`npm run report
                       -- DIR\` on the sweep folder writes all three later)
  --help               show this help
${JOB_HELP}

With --counts, each point's engines are also counted once under valgrind, and the exponents are
fitted on estimated cycles per step instead of time: counts do not depend on the machine or its
load, so shards run on different machines fit together.

Writes to the sweep folder: ${SWEEP_FILE} (the grid), ${POINTS_DIR}/NNN/ (each point's results folder,
as bench:all writes it: runs.jsonl, env.json) and ${POINTS_CSV} (one row per point and engine).`;

const FLAGS = {
  ...JOB_FLAGS,
  ...RUN_FLAGS,
  vary: { type: 'string', multiple: true },
  check: { type: 'boolean' },
  budget: { type: 'string' },
  shard: { type: 'string' },
  out: { type: 'string' },
  report: { type: 'string' },
  'no-page': { type: 'boolean' },
} as const;

/** Every flag and every point's job checked, before any run. */
function sweepSetup(values: FlagValues<typeof FLAGS>, registry: EngineRegistry) {
  if (!values.vary?.length) throw new InputError('--vary KEY=V1,V2,… is required (see --help)');
  const axes = values.vary.map(parseVary);
  const fixed = Object.fromEntries(Object.keys(JOB_FLAGS).map((k) => [k, values[k as keyof typeof JOB_FLAGS]]));
  const grid = sweepGrid(axes, { ...fixed, data: undefined });
  const shard = values.shard === undefined ? null : shardFlag(values.shard);
  if (shard && values.budget !== undefined)
    throw new InputError('--budget and --shard do not go together: the budget needs every point timed in one place');
  const dataset = loadDataset(values.data);
  const outDir = resolve(values.out ?? join(RESULTS_DIR, `sweep-${timestamp()}`));
  const reportFile = reportFileFlag('report', values.report, [outDir]);
  const run = runFlags(values, registry);
  if (run.countSteps !== null) for (const p of grid) checkCountSkip(run.countSkip, p.config.steps);
  return {
    axes,
    points: grid.map((p) => ({ ...p, ...analyticFlopsPerStep(p.config, dataset) })),
    ...run,
    check: values.check === true,
    budgetMs:
      values.budget === undefined ? null : 1000 * numberFlag('budget', values.budget, 0, (n) => n > 0, 'seconds > 0'),
    shard,
    dataset,
    dataPath: values.data ?? null,
    enginesModule: registry.pluginModule,
    pluginEngines: registry.pluginNames(),
    outDir,
    reportFile,
    htmlFile: values['no-page'] ? null : pageBesideFlag('report', reportFile),
  };
}
type SweepSetup = ReturnType<typeof sweepSetup>;
type Point = SweepSetup['points'][number];

/** The sweep folder: new or empty, then the grid in sweep.json and one results folder per point. */
function prepareSweepDir(s: SweepSetup): string[] {
  outputDir('out', s.outDir);
  if (readdirSync(s.outDir).length > 0)
    throw new InputError(`--out ${s.outDir}: is not empty; choose a new or empty folder`);
  writeSweepFile(s, {});
  mkdirSync(join(s.outDir, POINTS_DIR));
  return s.points.map((p) => {
    const dir = join(s.outDir, pointDir(p));
    prepareResultsDir(dir);
    startPoint(s, p, dir, s.engines);
    return dir;
  });
}

/** sweep.json: the grid, this folder's shard, and which engines sat out which points so far. */
function writeSweepFile(s: SweepSetup, skips: Skips): void {
  const grid: SweepFile = {
    axes: s.axes.map((a) => ({ key: a.key, values: [...a.values] })),
    points: s.points.map((p) => ({
      index: p.index,
      values: p.values as Record<string, string>,
      dir: pointDir(p),
      params: p.params,
      flopsPerStep: p.flopsPerStep,
      skipped: { ...skips[p.index] },
    })),
    engines: s.engines.map((e) => e.name),
    trials: s.trials,
    check: s.check,
    budgetSeconds: s.budgetMs === null ? null : s.budgetMs / 1000,
    shard: s.shard,
    args: process.argv.slice(2),
  };
  writeFileAtomic(join(s.outDir, SWEEP_FILE), JSON.stringify(grid, null, 2) + '\n');
}

/** A point's results folder says which engines run there: those not sitting it out. */
function startPoint(s: SweepSetup, point: Point, dir: string, engines: SweepSetup['engines']): void {
  const env = { ...s, engines, config: point.config, externals: [], warmup: 0, args: process.argv.slice(2) };
  startResults(dir, captureEnv(env));
}

const pointDir = (p: Point) => join(POINTS_DIR, String(p.index).padStart(3, '0'));
const kindsOf = (s: SweepSetup) => [
  trainKind,
  ...(s.check ? [gradcheckKind] : []),
  ...(s.countSteps === null ? [] : [countsKind]),
];
const taskKey = (point: number, kind: string, trial: number, engine: string) => `${point}|${kind}|${trial}|${engine}`;

/** This shard's runs: every n-th of the whole sweep's list, in the order the sweep runs them. */
function shardShare(s: SweepSetup): ((point: number, task: Task<unknown>) => boolean) | null {
  if (s.shard === null) return null;
  const { index, count } = s.shard;
  const mine = new Set<string>();
  let k = 0;
  for (const point of s.points)
    for (const kind of kindsOf(s))
      for (const { trial } of roundsOf(kind, { trials: s.trials, warmup: 0 }))
        for (const e of s.engines) {
          if (k++ % count === index - 1) mine.add(taskKey(point.index, kind.name, trial, e.name));
        }
  return (point, task) => mine.has(taskKey(point, task.kind.name, task.trial, task.engine));
}

/** The engines over budget at or below this point sit it out; sweep.json says so. */
function sitOut(s: SweepSetup, point: Point, budget: Budget | null, skips: Record<number, Record<string, string>>) {
  const skipped: Record<string, string> = {};
  for (const e of s.engines) {
    const why = budget?.skipReason(e.name, point.values) ?? null;
    if (why !== null) skipped[e.name] = why;
  }
  skips[point.index] = skipped;
  writeSweepFile(s, skips);
  return s.engines.filter((e) => skipped[e.name] === undefined);
}

/** The executor of a point's count runs (after its timed ones), or null without --counts. */
function pointCounter(
  s: SweepSetup,
  job: Parameters<typeof processExecutor>[0],
  config: TrainConfig,
  worker: WorkerBuild,
) {
  if (s.countSteps === null) return null;
  const countConfig = countJob(config, s.countSteps, s.countSkip);
  return countExecutor(
    { ...job, config: countConfig, countSkip: s.countSkip, externals: [], externalDataPath: '' },
    worker,
  );
}

/** Every point's runs (this shard's), point after point, each saved as it ends; a signal stops the sweep. */
async function runPoints(s: SweepSetup, dirs: readonly string[], skips: Record<number, Record<string, string>>) {
  const interrupt = stopOnSignals();
  const worker = await workerFor();
  const meter = resourceMeter();
  const budget = s.budgetMs === null ? null : new Budget(s.axes, s.budgetMs);
  const share = shardShare(s);
  let ended: 'completed' | 'interrupted' = 'completed';
  for (const [i, point] of s.points.entries()) {
    const engines = sitOut(s, point, budget, skips);
    startPoint(s, point, dirs[i], engines);
    const out = s.engines.filter((e) => !engines.includes(e)).map((e) => e.name);
    const note = out.length > 0 ? ` (${out.join(', ')} over budget)` : '';
    process.stderr.write(`point ${point.index}/${s.points.length}: ${pointLabel(point.values)}${note}\n`);
    const progress = new RunProgress({ trials: s.trials, warmup: 0 });
    const plan = {
      engines: engines.map((e) => e.name),
      kinds: kindsOf(s).filter((k) => k !== countsKind),
      trials: s.trials,
      warmup: 0,
      timeoutMs: s.timeoutSeconds * 1000,
      include: share ? (task: Task<unknown>) => share(point.index, task) : undefined,
    };
    const hooks = {
      onProgress: progress.onProgress.bind(progress),
      onRunEnd: (task: Task<unknown>, record: RunRecord) => {
        appendRun(dirs[i], record);
        progress.onRunEnd(task, record);
      },
    };
    const job = {
      dataPath: s.dataPath,
      config: point.config,
      enginesModule: s.enginesModule,
      pluginEngines: s.pluginEngines,
    };
    ended = await schedule(plan, processExecutor(job, { worker, meter }), hooks, interrupt.signal);
    const counter = ended === 'interrupted' ? null : pointCounter(s, job, point.config, worker);
    if (counter) {
      const countPlan = { ...plan, kinds: [countsKind], concurrency: s.countJobs };
      ended = await schedule(countPlan, counter.execute, hooks, interrupt.signal);
    }
    counter?.dispose();
    progress.stop();
    if (ended === 'interrupted') break;
    for (const row of summarize(readResultsFolder(dirs[i])))
      budget?.record(row.engine, point.values, row.timeMs?.median ?? null);
  }
  interrupt.dispose();
  meter?.dispose();
  return ended === 'completed' ? ended : interrupt.exitCode();
}

command({
  help,
  flags: FLAGS,
  async run({ values, engines: registry }) {
    const setup = sweepSetup(values, registry);
    const dirs = prepareSweepDir(setup);
    const s = { ...setup, dataPath: dataPathForChildren(setup.dataset, setup.dataPath, setup.outDir) };
    const started = performance.now();
    const ended = await runPoints(s, dirs, {});
    const say = (line = '') => process.stdout.write(line + '\n');
    const elapsed = formatElapsed(performance.now() - started);
    if (s.shard) {
      const { index, count } = s.shard;
      say(`Shard ${index}/${count} of ${s.points.length} points × ${s.engines.length} engines done in ${elapsed}.`);
      say(`Results: ${displayPath(s.outDir)}/; merge the ${count} shards' folders: npm run report -- DIR1 DIR2 …`);
    } else {
      const report = sweepReport(mergeSweeps([readSweepFolder(s.outDir)]));
      writeFileAtomic(join(s.outDir, POINTS_CSV), report.csv);
      writeFileAtomic(s.reportFile, report.markdown);
      if (s.htmlFile !== null) writeFileAtomic(s.htmlFile, await report.html());
      say(`Sweep: ${s.points.length} points × ${s.engines.length} engines in ${elapsed}`);
      for (const line of fitLines(report.fits)) say(line);
      say();
      say(`Results: ${displayPath(s.outDir)}/ (${SWEEP_FILE}, ${POINTS_DIR}/, ${POINTS_CSV})`);
      say(`Report:  ${displayPath(s.reportFile)}`);
      if (s.htmlFile !== null) say(`Page:    ${displayPath(s.htmlFile)}`);
    }
    if (ended !== 'completed') {
      process.stderr.write('interrupted: the finished runs are in the points folders\n');
      process.exitCode = ended;
    }
  },
});
