import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { engineNames } from '../engines/registry.ts';
import { writeFileAtomic } from '../scenarios/bench/results.ts';
import { DEFAULT_MICRO_TIME_MS, MICRO_OPERATIONS, type MicroOperation, type MicroRow } from '../scenarios/micro.ts';
import { loadDatasetFile } from '../workload/dataset.ts';
import { CommandError, intFlag, parseFlags, runCli } from './cli.ts';
import { enginesFlag } from './job-flags.ts';
import { outputDir } from './output-paths.ts';
import { REPORTS_DIR, RESULTS_DIR, timestamp, tsxScriptArgs } from './paths.ts';

const HELP = `Usage: npm run bench:micro -- [--engines a,b] [--time MS] [options]

Micro-benchmarks each engine with tinybench: the time to build and run backward through one
${MICRO_OPERATIONS.join(', ')}
(the training step: reset, forward, backward, Adam on the job's first document). Each engine and
operation runs in a process of its own. Writes a Markdown table to reports/micro-<timestamp>.md
and a CSV to results/micro-<timestamp>.csv, prints the table, then the two paths (CSV last).

Options:
  --engines a,b        engines to measure, in this order (default all: ${engineNames().join(',')})
  --time MS            tinybench's time budget per operation (default ${DEFAULT_MICRO_TIME_MS}), plus a quarter for warm-up
  --data PATH          documents for the training step (default: embedded English first names)
  --results-dir DIR    where the CSV goes (default ${RESULTS_DIR})
  --reports-dir DIR    where the Markdown goes (default ${REPORTS_DIR})
  --help               show this help`;

/** One engine's time on one operation, measured in a child process of its own. */
function measureInChild(engine: string, operation: MicroOperation, childArgs: string[]): Promise<MicroRow> {
  return new Promise((done, fail) => {
    const args = ['--engine', engine, '--operation', operation, ...childArgs];
    const child = spawn(process.execPath, tsxScriptArgs('bench-micro-engine.ts', args), {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (code === 0) done(JSON.parse(out) as MicroRow);
      else
        fail(
          new CommandError(
            `the ${engine} micro-benchmark of ${operation} failed (${signal ?? `exit code ${code}`}); nothing was written`,
          ),
        );
    });
  });
}

const ns = (x: number) => Math.round(x).toLocaleString('en-US');

function markdown(rows: MicroRow[], timeMs: number, data: string): string {
  const lines = [
    '# Micro-benchmarks: build + backward of one operation',
    '',
    `${new Date().toISOString()} · Node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'} · ` +
      `tinybench, ${timeMs} ms per operation · training-step documents: ${data}`,
    '',
    '| operation | engine | mean ns/op | median ns/op | ± | samples |',
    '|---|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.operation} | ${r.engine} | ${ns(r.meanNs)} | ${ns(r.medianNs)} | ±${r.rmePercent.toFixed(2)}% | ${r.samples} |`,
    ),
    '',
    "± is tinybench's relative margin of error of the mean (95% confidence, within this run only).",
    'Each operation is reduced to a scalar with `sum` before `backward`; the time includes `reset`.',
  ];
  return lines.join('\n') + '\n';
}

function csv(rows: MicroRow[]): string {
  return stringify(
    rows.map((r) => [r.engine, r.operation, r.meanNs, r.medianNs, r.rmePercent, r.samples]),
    { header: true, columns: ['engine', 'operation', 'mean_ns', 'median_ns', 'rme_percent', 'samples'] },
  );
}

runCli(async () => {
  const { values } = parseFlags(process.argv.slice(2), {
    engines: { type: 'string' },
    time: { type: 'string' },
    data: { type: 'string' },
    'results-dir': { type: 'string' },
    'reports-dir': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const engines = enginesFlag(values.engines).map((e) => e.name);
  const timeMs = intFlag('time', values.time, DEFAULT_MICRO_TIME_MS);
  const data = values.data === undefined ? undefined : resolve(values.data);
  if (data !== undefined) loadDatasetFile(data);
  const reportsDir = outputDir('reports-dir', values['reports-dir'] ?? REPORTS_DIR);
  const resultsDir = outputDir('results-dir', values['results-dir'] ?? RESULTS_DIR);
  const childArgs = ['--time', String(timeMs), ...(data === undefined ? [] : ['--data', data])];

  // Grouped by operation, so the engines sit next to each other for each one.
  const ordered: MicroRow[] = [];
  for (const operation of MICRO_OPERATIONS) {
    for (const engine of engines) {
      process.stderr.write(`bench:micro: ${operation} on ${engine}…\n`);
      ordered.push(await measureInChild(engine, operation, childArgs));
    }
  }
  const stamp = timestamp();
  const table = markdown(ordered, timeMs, data ?? 'embedded English first names');
  const mdPath = join(reportsDir, `micro-${stamp}.md`);
  const csvPath = join(resultsDir, `micro-${stamp}.csv`);
  writeFileAtomic(csvPath, csv(ordered));
  writeFileAtomic(mdPath, table);
  process.stdout.write(`${table}\n${mdPath}\n${csvPath}\n`);
});
