import { join, resolve } from 'node:path';
import type { EngineRegistry } from '../engines/registry.ts';
import { captureEnv } from '../scenarios/bench/env.ts';
import {
  countsKind,
  externalCountsKind,
  externalKind,
  TIMED_KINDS,
  trainKind,
  type AnyKind,
} from '../scenarios/bench/kinds/index.ts';
import { countExecutor } from '../scenarios/bench/counts/executor.ts';
import { countJob } from '../scenarios/bench/counts/callgrind.ts';
import { processExecutor } from '../scenarios/bench/process-executor.ts';
import {
  appendRun,
  ENV_FILE,
  prepareResultsDir,
  readResultsFolder,
  RUNS_FILE,
  startResults,
} from '../scenarios/bench/results.ts';
import { schedule, type Executor, type ScheduleHooks, type SchedulePlan } from '../scenarios/bench/scheduler.ts';
import { externalExecutor } from '../scenarios/bench/external/executor.ts';
import {
  checkExternalNames,
  externalFlag,
  externalsConfig,
  PLACEHOLDER_NAMES,
  usesData,
} from '../scenarios/bench/external/spec.ts';
import { prepareReference } from '../scenarios/bench/reference-run.ts';
import { resourceMeter } from '../scenarios/bench/resource-meter.ts';
import { workerFor } from '../scenarios/bench/worker-build.ts';
import { summarize } from '../scenarios/bench/summary.ts';
import { benchSummaryLines } from '../scenarios/output/bench-summary.ts';
import type { Folders } from '../scenarios/output/export/exporter.ts';
import { RESULTS_FORMATS, selectFormats, writeFormats } from '../scenarios/output/export/formats.ts';
import { compareMarkdown } from '../scenarios/output/export/compare.ts';
import { assertSameJob, compareFolders } from '../scenarios/compare/compare.ts';
import { InputError } from '../engines/input-error.ts';
import { ioReason, writeFileAtomic } from '../scenarios/files.ts';
import { RunProgress } from '../scenarios/output/progress.ts';
import { formatElapsed } from '../scenarios/output/units.ts';
import { loadDataset } from '../workload/dataset.ts';
import { command, CommandError, intFlag, stopOnSignals, type FlagValues } from './cli.ts';
import { JOB_FLAGS, JOB_HELP, assertEngineFits, configFromFlags } from './job-flags.ts';
import { checkCountSkip, RUN_FLAGS, runFlags, runFlagsHelp } from './run-flags.ts';
import { COMPARE_FLAGS, thresholdFlag } from './compare-flags.ts';
import { displayPath, pageBesideFlag, reportFileFlag } from './output-paths.ts';
import { RESULTS_DIR, timestamp } from './paths.ts';
import { DATA_COPY_FILE, dataPathForChildren } from './child-data.ts';

/** Written into the results folder; the Markdown report goes to --report. */
const CSV_FORMATS = selectFormats(RESULTS_FORMATS, ['csv']);
const REPORT_FORMATS = selectFormats(RESULTS_FORMATS, ['md', 'html']);
/** With --no-page. */
const MARKDOWN_ONLY = selectFormats(RESULTS_FORMATS, ['md']);
const CSV_FILES = CSV_FORMATS.flatMap((f) => f.files.map((file) => file.suffix));
/** The reference trajectories external programs are checked against, one file per job hash. */
const REFERENCE_CACHE = join(RESULTS_DIR, '.reference');

const help = (engines: EngineRegistry) => `Usage: npm run bench:all -- [options]

Runs the training job on every registered engine, each trial in a fresh Node process, then each
engine's gradient check (also in its own process), and writes a results folder and a report.
Trials go round-robin over the engines. A run that throws, crashes, runs out of memory or passes
--timeout is recorded as failed, one whose loss turns NaN or infinite as diverged; the bench goes
on, and that engine sits out its remaining trials. ^C stops it and keeps every finished run.

Options:
${runFlagsHelp(engines, '')}
  --warmup N           untimed runs per engine before the trials (default 0)
  --out DIR            results folder, new or empty (default results/<timestamp>/)
  --report FILE        the Markdown report (default reports/<results folder name>.md); the HTML
                       page with its charts goes beside it, ending in .html
  --no-page            write no HTML page, only the Markdown report (drawing the page's charts takes
                       about 0.4 s of CPU; \`npm run report -- DIR --format html\` draws it later)
  --baseline DIR       a results folder of the same job to compare with when done, as
                       \`npm run compare -- DIR <results folder>\` does (checked before any run)
  --threshold PCT      with --baseline: changes within ±PCT percent count as no change (default 2)
  --fail-on-regression with --baseline: exit 1 when an engine got slower beyond the threshold (by
                       its counts when both folders have them, else with confidence by its times),
                       its losses changed, or its gradient check went from pass to FAIL
  --external 'NAME=COMMAND'
                       also time an external program that trains the job (repeatable): each trial
                       runs COMMAND (split as a shell would, run without one) in a process of its
                       own, round-robin with the engines' trials, and its printed losses are checked
                       against the reference's (topo's trial, or tensor's run of the job when topo is
                       not in --engines: its losses are topo's to 1e-12). Placeholders pass the job:
                       {data} (the dataset file; the embedded list is written to dataset.txt in the
                       results folder for it) and
                       ${wrapped(
                         PLACEHOLDER_NAMES.filter((n) => n !== 'data').map((n) => `{${n}}`),
                         55,
                         '\n                       ',
                       )}
  --config FILE        external programs from a JSON file: {"externals": [{"name", "command": [argv],
                       "cwd"?, "env"?, "lossPattern"?, "samplePattern"?, "timePattern"?, "fixedJob"?}]}
                       (docs/commands.md: "External programs")
  --help               show this help
${JOB_HELP}

Writes to the results folder: ${RUNS_FILE} (a line per run, as it finishes), ${ENV_FILE},
${CSV_FILES.join(', ')}. \`npm run report -- DIR\` regenerates the report from it.`;

/** Words joined by spaces into lines of at most `width` characters, joined by `separator`. */
function wrapped(words: readonly string[], width: number, separator: string): string {
  const lines: string[] = [];
  for (const word of words) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join(separator);
}

const FLAGS = {
  ...JOB_FLAGS,
  ...RUN_FLAGS,
  warmup: { type: 'string' },
  out: { type: 'string' },
  report: { type: 'string' },
  'no-page': { type: 'boolean' },
  baseline: { type: 'string' },
  external: { type: 'string', multiple: true },
  config: { type: 'string' },
  ...COMPARE_FLAGS,
} as const;

/** Every flag checked and every output location made ready, before any run. */
function benchSetup(values: FlagValues<typeof FLAGS>, registry: EngineRegistry) {
  const run = runFlags(values, registry);
  const { engines } = run;
  const externals = [
    ...(values.external ?? []).map(externalFlag),
    ...(values.config === undefined ? [] : externalsConfig(values.config)),
  ];
  checkExternalNames(
    externals,
    engines.map((e) => e.name),
  );
  const setup = {
    ...run,
    externals,
    warmup: intFlag('warmup', values.warmup, 0, 0),
    config: configFromFlags(values),
    dataset: loadDataset(values.data),
    dataPath: values.data ?? null,
    enginesModule: registry.pluginModule,
    pluginEngines: registry.pluginNames(),
    outDir: resolve(values.out ?? join(RESULTS_DIR, timestamp())),
  };
  if (setup.countSteps !== null) checkCountSkip(setup.countSkip, setup.config.steps);
  for (const engine of setup.engines) assertEngineFits(engine, setup.config, setup.dataset);
  const baseline = baselineFlag(values, setup);
  const reportFile = reportFileFlag('report', values.report, [setup.outDir]);
  const htmlFile = values['no-page'] ? null : pageBesideFlag('report', reportFile);
  return { ...setup, baseline, reportFile, htmlFile };
}
type BenchSetup = ReturnType<typeof benchSetup>;

/** --baseline: a results folder of the very job about to run, with the comparison's options. */
function baselineFlag(values: FlagValues<typeof FLAGS>, job: Pick<BenchSetup, 'config' | 'dataset' | 'outDir'>) {
  if (values.baseline === undefined) {
    for (const flag of ['threshold', 'fail-on-regression'] as const)
      if (values[flag] !== undefined) throw new InputError(`--${flag} needs --baseline`);
    return null;
  }
  const folder = readResultsFolder(values.baseline);
  assertSameJob(folder, { dir: 'this bench', env: { dataset: job.dataset, config: job.config } });
  const options = { threshold: thresholdFlag(values.threshold), confidence: 0.95 };
  return { folder, options, failOnRegression: values['fail-on-regression'] === true };
}

/**
 * The dataset file an external's {data} names: --data's, or the embedded list written into the
 * results folder (the same bytes the dataset's sha256 is of) when some command asks for it.
 */
function externalDataPath(s: BenchSetup): string {
  if (s.dataPath !== null) return resolve(s.dataPath);
  // Only without --data, so never beside a copy of it (child-data.ts writes that under the same name).
  const path = join(s.outDir, DATA_COPY_FILE);
  if (s.externals.some(usesData)) writeFileAtomic(path, s.dataset.docs.join('\n') + '\n');
  return path;
}

/** Runs every job, saving each run as it ends; SIGINT and SIGTERM stop it (exit 130 and 143). */
async function runJobs(s: BenchSetup): Promise<'completed' | { interrupted: number }> {
  const interrupt = stopOnSignals();
  const progress = new RunProgress(s);
  const hooks: ScheduleHooks = {
    onProgress: (task, p) => progress.onProgress(task, p),
    onRunEnd: (task, record) => {
      appendRun(s.outDir, record);
      progress.onRunEnd(task, record);
    },
  };
  const worker = await workerFor();
  const meter = resourceMeter();
  const dataPath = externalDataPath(s);
  const inWorker = processExecutor(
    { dataPath: s.dataPath, config: s.config, enginesModule: s.enginesModule, pluginEngines: s.pluginEngines },
    { worker, meter },
  );
  const external = externalExecutor({ specs: s.externals, job: { config: s.config, dataPath }, meter });
  const timed: Executor = (task, opts) =>
    (task.kind as AnyKind) === externalKind ? external(task, opts) : inWorker(task, opts);
  const plan = (kinds: readonly AnyKind[], alongside: SchedulePlan['alongside']): SchedulePlan => ({
    ...s,
    engines: s.engines.map((e) => e.name),
    kinds,
    alongside,
    timeoutMs: s.timeoutSeconds * 1000,
  });
  const timedPlan = plan(TIMED_KINDS, [{ with: trainKind, kind: externalKind, names: s.externals.map((e) => e.name) }]);
  let ended = await schedule(timedPlan, timed, hooks, interrupt.signal);
  if (ended === 'completed' && s.countSteps !== null) {
    const config = countJob(s.config, s.countSteps, s.countSkip);
    const counter = countExecutor({ ...s, config, countSkip: s.countSkip, externalDataPath: dataPath }, worker);
    const names = s.externals.map((e) => e.name);
    const countPlan = {
      ...plan([countsKind], [{ with: countsKind, kind: externalCountsKind, names }]),
      concurrency: s.countJobs,
    };
    const countStarted = performance.now();
    ended = await schedule(countPlan, counter.execute, hooks, interrupt.signal);
    counter.dispose();
    const runs = s.engines.length + names.length;
    const elapsed = formatElapsed(performance.now() - countStarted);
    progress.stop();
    process.stderr.write(`count pass: ${runs} count runs, up to ${s.countJobs} at once, in ${elapsed}\n`);
  }
  progress.stop();
  interrupt.dispose();
  meter?.dispose();
  return ended === 'completed' ? ended : { interrupted: interrupt.exitCode() };
}

/** The CSVs and the reports. Should writing fail this late, every run is still in runs.jsonl: say so in one line. */
async function writeDerived(folders: Folders, s: BenchSetup): Promise<void> {
  try {
    await writeFormats(CSV_FORMATS, folders, (suffix) => join(s.outDir, suffix));
    const { htmlFile, reportFile } = s;
    if (htmlFile === null) await writeFormats(MARKDOWN_ONLY, folders, () => reportFile);
    else await writeFormats(REPORT_FORMATS, folders, (suffix) => (suffix === 'html' ? htmlFile : reportFile));
  } catch (err) {
    const dir = displayPath(s.outDir);
    throw new CommandError(
      `writing the CSVs and reports failed (${ioReason(err)}); every run is kept in ${join(dir, RUNS_FILE)}, ` +
        `and \`npm run report -- ${dir} --format md,csv,html\` writes them again`,
    );
  }
}

command({
  help,
  flags: FLAGS,
  async run({ values, engines: registry }) {
    const setup = benchSetup(values, registry);
    prepareResultsDir(setup.outDir);
    const s = { ...setup, dataPath: dataPathForChildren(setup.dataset, setup.dataPath, setup.outDir) };
    startResults(s.outDir, captureEnv({ ...s, args: process.argv.slice(2) }));
    if (s.externals.length > 0) prepareReference(s, REFERENCE_CACHE, s.outDir);
    const started = performance.now();
    const ended = await runJobs(s);
    const dir = displayPath(s.outDir);
    if (ended !== 'completed') {
      const runs = join(dir, RUNS_FILE);
      process.stderr.write(
        `interrupted: the finished runs are in ${runs}; \`npm run report -- ${dir}\` reports them\n`,
      );
      process.exitCode = ended.interrupted;
      return;
    }
    const folders = [readResultsFolder(s.outDir)];
    await writeDerived(folders, s);
    const totals = { ...s, datasetSource: s.dataset.source, elapsedMs: performance.now() - started };
    const say = (line = '') => process.stdout.write(line + '\n');
    benchSummaryLines(summarize(folders[0]), totals).forEach((line) => say(line));
    say();
    say(`Results: ${dir}/ (${[RUNS_FILE, ENV_FILE, ...CSV_FILES].join(', ')})`);
    say(`Report:  ${displayPath(s.reportFile)}`);
    if (s.htmlFile !== null) say(`Page:    ${displayPath(s.htmlFile)}`);
    if (s.baseline) {
      const comparison = compareFolders(s.baseline.folder, folders[0], s.baseline.options);
      say();
      say(compareMarkdown.serialize(comparison).trimEnd());
      if (s.baseline.failOnRegression && comparison.engines.some((e) => e.regression)) process.exitCode = 1;
    }
  },
});
