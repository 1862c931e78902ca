import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { EngineRegistry } from '../engines/registry.ts';
import { MICRO_FORMATS, writeFormats } from '../scenarios/output/export/formats.ts';
import { microMarkdown, type MicroReport } from '../scenarios/output/export/micro.ts';
import { DEFAULT_MICRO_TIME_MS, MICRO_OPERATIONS, type MicroOperation, type MicroRow } from '../scenarios/micro.ts';
import { loadDatasetFile } from '../workload/dataset.ts';
import { command, CommandError, intFlag } from './cli.ts';
import { enginesFlag } from './job-flags.ts';
import { outputDir } from './output-paths.ts';
import { REPORTS_DIR, RESULTS_DIR, timestamp, tsxScriptArgs } from './paths.ts';

const help = (engines: EngineRegistry) => `Usage: npm run bench:micro -- [--engines a,b] [--time MS] [options]

Micro-benchmarks each engine with tinybench: the time to build and run backward through one
${MICRO_OPERATIONS.join(', ')}
(the training step: reset, forward, backward, Adam on the job's first document). Each engine and
operation runs in a process of its own. Writes a Markdown table to reports/micro-<timestamp>.md
and a CSV to results/micro-<timestamp>.csv, prints the table, then the two paths (CSV last).

Options:
  --engines a,b        engines to measure, in this order (default all: ${engines.names().join(',')})
  --time MS            tinybench's time budget per operation (default ${DEFAULT_MICRO_TIME_MS}), plus a quarter
                       for warm-up
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
      if (code === 0) return done(JSON.parse(out) as MicroRow);
      const how = signal ?? `exit code ${code}`;
      fail(new CommandError(`the ${engine} micro-benchmark of ${operation} failed (${how}); nothing was written`));
    });
  });
}

command({
  help,
  flags: {
    engines: { type: 'string' },
    time: { type: 'string' },
    data: { type: 'string' },
    'results-dir': { type: 'string' },
    'reports-dir': { type: 'string' },
  },
  async run({ values, engines: registry }) {
    const engines = enginesFlag(registry, values.engines).map((e) => e.name);
    const timeMs = intFlag('time', values.time, DEFAULT_MICRO_TIME_MS);
    const data = values.data === undefined ? undefined : resolve(values.data);
    if (data !== undefined) loadDatasetFile(data);
    const reportsDir = outputDir('reports-dir', values['reports-dir'] ?? REPORTS_DIR);
    const resultsDir = outputDir('results-dir', values['results-dir'] ?? RESULTS_DIR);
    const childArgs = ['--time', String(timeMs), ...(data === undefined ? [] : ['--data', data])];

    // Grouped by operation, so the engines sit next to each other for each one.
    const rows: MicroRow[] = [];
    for (const operation of MICRO_OPERATIONS) {
      for (const engine of engines) {
        process.stderr.write(`bench:micro: ${operation} on ${engine}…\n`);
        rows.push(await measureInChild(engine, operation, childArgs));
      }
    }
    const report: MicroReport = {
      rows,
      timeMs,
      data: data ?? 'embedded English first names',
      date: new Date().toISOString(),
      node: process.version,
      cpu: { model: cpus()[0]?.model ?? 'unknown CPU', count: cpus().length },
    };
    const stamp = timestamp();
    const [mdPath, csvPath] = writeFormats(MICRO_FORMATS, report, (suffix) =>
      join(suffix === 'md' ? reportsDir : resultsDir, `micro-${stamp}.${suffix}`),
    );
    process.stdout.write(`${microMarkdown.serialize(report)}\n${mdPath}\n${csvPath}\n`);
  },
});
