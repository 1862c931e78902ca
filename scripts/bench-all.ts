import { basename, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { engineNames } from '../engines/registry.ts';
import { runBench, type RunLabel } from '../scenarios/bench/bench.ts';
import type { Progress } from '../scenarios/bench/runner.ts';
import { captureEnv } from '../scenarios/bench/env.ts';
import { runsCsv, summaryCsv } from '../scenarios/bench/export/csv.ts';
import { markdownReport } from '../scenarios/bench/export/markdown.ts';
import { datasetLabel, formatLoss, formatTime, speedupLine } from '../scenarios/bench/format.ts';
import {
  ENV_FILE,
  RUNS_FILE,
  prepareResultsDir,
  readResultsFolder,
  startResults,
  writeFileAtomic,
  type RunRecord,
} from '../scenarios/bench/results.ts';
import { statusText, summarize, verdictText } from '../scenarios/bench/summary.ts';
import { loadDataset } from '../workload/dataset.ts';
import { intFlag, numberFlag, parseFlags, runCli } from './cli.ts';
import { displayPath, reportFileFlag } from './output-paths.ts';
import { JOB_FLAGS, JOB_HELP, configFromFlags, enginesFlag } from './job-flags.ts';
import { RESULTS_DIR, timestamp } from './paths.ts';

const DEFAULT_TRIALS = 3;
const DEFAULT_TIMEOUT_SECONDS = 600;
/** setTimeout's limit (2³¹ − 1 ms); a longer delay would fire at once. */
const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
const CSV_FILES = [
  ['runs.csv', runsCsv],
  ['summary.csv', summaryCsv],
] as const;

const HELP = `Usage: npm run bench:all -- [options]

Runs the training job on every registered engine, each trial in a fresh Node process, then each
engine's gradient check (also in its own process), and writes a results folder and a report.
Trials go round-robin over the engines. A run that throws, crashes, runs out of memory or passes
--timeout is recorded as failed, one whose loss turns NaN or infinite as diverged; the bench goes
on, and that engine sits out its remaining trials. ^C stops it and keeps every finished run.

Options:
  --engines a,b        engines to run (default all: ${engineNames().join(',')})
  --trials N           timed trials per engine (default ${DEFAULT_TRIALS})
  --warmup N           untimed runs per engine before the trials (default 0)
  --timeout SECONDS    limit per run; the process is killed past it (default ${DEFAULT_TIMEOUT_SECONDS})
  --out DIR            results folder, new or empty (default results/<timestamp>/)
  --report FILE        the Markdown report (default reports/<results folder name>.md)
  --help               show this help
${JOB_HELP}

Writes to the results folder: ${RUNS_FILE} (a line per run, as it finishes), ${ENV_FILE},
${CSV_FILES.map(([name]) => name).join(', ')}. \`npm run report -- DIR\` regenerates the report from it.`;

runCli(async () => {
  const args = process.argv.slice(2);
  const { values } = parseFlags(args, {
    ...JOB_FLAGS,
    engines: { type: 'string' },
    trials: { type: 'string' },
    warmup: { type: 'string' },
    timeout: { type: 'string' },
    out: { type: 'string' },
    report: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const engines = enginesFlag(values.engines);
  const trials = intFlag('trials', values.trials, DEFAULT_TRIALS);
  const warmup = intFlag('warmup', values.warmup, 0, 0);
  const timeoutSeconds = numberFlag(
    'timeout',
    values.timeout,
    DEFAULT_TIMEOUT_SECONDS,
    (n) => n > 0 && n <= MAX_TIMEOUT_SECONDS,
    `a number of seconds > 0 (at most ${MAX_TIMEOUT_SECONDS})`,
  );
  const config = configFromFlags(values);
  const dataset = loadDataset(values.data);
  const outDir = resolve(values.out ?? join(RESULTS_DIR, timestamp()));
  const reportFile = reportFileFlag('report', values.report, [basename(outDir)]);
  prepareResultsDir(outDir);
  startResults(outDir, captureEnv({ engines, trials, warmup, timeoutSeconds, config, dataset, args }));

  const interrupt = new AbortController();
  let exitCode = 0;
  const stopOn = (signal: NodeJS.Signals, code: number) => {
    const stop = () => {
      exitCode = code;
      interrupt.abort();
    };
    process.once(signal, stop);
    return () => process.off(signal, stop);
  };
  const unlisten = [stopOn('SIGINT', 130), stopOn('SIGTERM', 143)];
  const started = performance.now();
  const progress = new RunProgress(trials, warmup);
  const ended = await runBench(
    {
      engines: engines.map((e) => e.name),
      trials,
      warmup,
      timeoutMs: timeoutSeconds * 1000,
      dataPath: values.data ?? null,
      config,
    },
    outDir,
    progress,
    interrupt.signal,
  );
  progress.stop();
  unlisten.forEach((off) => off());
  const dir = displayPath(outDir);
  if (ended === 'interrupted') {
    process.stderr.write(
      `interrupted: the finished runs are in ${join(dir, RUNS_FILE)}; \`npm run report -- ${dir}\` reports them\n`,
    );
    process.exitCode = exitCode;
    return;
  }

  const folder = readResultsFolder(dir);
  for (const [name, exporter] of CSV_FILES) writeFileAtomic(join(outDir, name), exporter.serialize([folder]));
  writeFileAtomic(reportFile, markdownReport.serialize([folder]));

  const summaries = summarize(folder);
  const width = Math.max(...summaries.map((s) => s.engine.length));
  const say = (line = '') => process.stdout.write(line + '\n');
  say(
    `Summary: ${trials} trial${trials === 1 ? '' : 's'} per engine of ${config.steps} steps on ${datasetLabel(dataset.source)}, ${formatDuration(performance.now() - started)} in all`,
  );
  for (const s of summaries) {
    const status = statusText(s);
    const time = s.timeMs ? `${formatTime(s.timeMs)}${status === 'ok' ? '' : `, ${status}`}` : status;
    const loss = s.typical ? `  loss ${formatLoss(s.typical.result.finalLoss)}` : '';
    say(`  ${s.engine.padEnd(width)}  ${time}${loss}  gradients: ${verdictText(s)}`);
  }
  for (const line of summaries.map(speedupLine)) if (line) say(line);
  say();
  say(`Results: ${dir}/ (${[RUNS_FILE, ENV_FILE, ...CSV_FILES.map(([name]) => name)].join(', ')})`);
  say(`Report:  ${displayPath(reportFile)}`);
});

/** A progress bar per run on stderr (cli-progress draws only on a terminal), and a line as each run ends. */
class RunProgress {
  private readonly bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{label} [{bar}] step {value}/{total} | loss {loss} | {duration_formatted}',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  private active = false;

  constructor(
    private readonly trials: number,
    private readonly warmup: number,
  ) {}

  onProgress(label: RunLabel, p: Progress): void {
    if (p.type === 'start') {
      this.bar.start(p.steps, 0, { label: this.name(label), loss: '-' });
      this.active = true;
    } else {
      this.bar.update(p.step, { loss: p.loss.toFixed(4) });
    }
  }

  onRunEnd(label: RunLabel, run: RunRecord): void {
    this.stop();
    const outcome =
      run.status !== 'ok'
        ? `${run.status}: ${run.reason}`
        : run.kind === 'gradcheck'
          ? run.result!.verdict
          : `${(run.result!.timingMs.total / 1000).toFixed(3)} s training, loss ${formatLoss(run.result!.finalLoss)}`;
    process.stderr.write(`${this.name(label)}: ${outcome} (${(run.wallMs / 1000).toFixed(1)} s wall)\n`);
  }

  stop(): void {
    if (this.active) this.bar.stop();
    this.active = false;
  }

  private name(label: RunLabel): string {
    if (label.kind === 'gradcheck') return `${label.engine} gradient check`;
    return `${label.engine} ${label.warmup ? 'warmup' : 'trial'} ${label.trial}/${label.warmup ? this.warmup : this.trials}`;
  }
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
