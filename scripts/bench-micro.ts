import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { EngineRegistry } from '../engines/registry.ts';
import { crashReason, watchChild, type ChildExit } from '../scenarios/child-process.ts';
import { ioReason } from '../scenarios/files.ts';
import { MICRO_FORMATS, writeFormats } from '../scenarios/output/export/formats.ts';
import { microMarkdown, type MicroReport } from '../scenarios/output/export/micro.ts';
import {
  DEFAULT_MICRO_TIME_MS,
  MICRO_OPERATIONS,
  microMeasuredSchema,
  type MicroOperation,
  type MicroRow,
} from '../scenarios/micro.ts';
import { firstIssue } from '../scenarios/bench/schemas.ts';
import { buildScript, isTypeScript } from '../scenarios/bench/worker-build.ts';
import { loadDatasetFile } from '../workload/dataset.ts';
import { assertRereadable } from './child-data.ts';
import { choiceListFlag, command, CommandError, ENGINES_MODULE_VAR, intFlag, timeoutFlag } from './cli.ts';
import { defaultEnginesHelp, enginesFlag } from './job-flags.ts';
import { outputDir } from './output-paths.ts';
import { PROJECT_ROOT, REPORTS_DIR, RESULTS_DIR, timestamp, tsxScriptArgs } from './paths.ts';

const DEFAULT_TIMEOUT_SECONDS = 120;

const help = (engines: EngineRegistry) => `Usage: npm run bench:micro -- [--engines a,b] [--time MS] [options]

Micro-benchmarks each engine with tinybench: the time to build and run backward through one
${MICRO_OPERATIONS.join(', ')}
(the training step: reset, forward, backward, Adam on the job's first document). Each engine and
operation runs in a process of its own. Writes a Markdown table to reports/micro-<timestamp>.md
and a CSV to results/micro-<timestamp>.csv, prints the table, then the two paths (CSV last).

A fault costs one row, never the run: a process that throws, crashes, prints no row or passes
--timeout is recorded as failed, with its reason, in the row of that engine and operation (the CSV's
status and reason columns), and the bench goes on. Both files are still written and their paths
printed; the exit code is then 1 (0 when every row was measured).

Options:
  --engines a,b        engines to measure, in this order (${defaultEnginesHelp(engines)})
  --operations a,b     operations to measure, in this order (default all, as listed above)
  --time MS            tinybench's time budget per operation (default ${DEFAULT_MICRO_TIME_MS}), plus a quarter
                       for warm-up
  --timeout SECONDS    limit per engine and operation; its process is killed past it (default
                       ${DEFAULT_TIMEOUT_SECONDS})
  --data PATH          documents for the training step (default: embedded English first names)
  --results-dir DIR    where the CSV goes (default ${RESULTS_DIR})
  --reports-dir DIR    where the Markdown goes (default ${REPORTS_DIR})
  --help               show this help`;

/** The measuring process running now, if any. */
let running: ChildProcess | null = null;

/** ^C or a SIGTERM stops bench:micro (exit 130 or 143) and the process it was measuring with it, never orphaned. */
function stopChildOnSignals(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      running?.kill('SIGKILL');
      process.exit(code);
    });
  }
}

/**
 * Node's arguments for one measuring process: bench-micro-engine.ts compiled, or under tsx when the
 * plugin module is TypeScript (only tsx imports it).
 */
type ChildArgv = (args: string[]) => string[];

async function childArgv(): Promise<ChildArgv> {
  const plugin = process.env[ENGINES_MODULE_VAR] ?? '';
  if (isTypeScript(plugin)) return (args) => tsxScriptArgs('bench-micro-engine.ts', args);
  const script = await buildScript(join(PROJECT_ROOT, 'scripts', 'bench-micro-engine.ts'), 'micro');
  return (args) => [script, ...args];
}

/** Runs bench-micro-engine.ts with `args` under watchChild; its stdout is the row. */
async function runChild(argv: ChildArgv, args: string[], timeoutMs: number): Promise<ChildExit & { stdout: string }> {
  const child = spawn(process.execPath, argv(args), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running = child;
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const end = await watchChild(child, timeoutMs);
  running = null;
  return { ...end, stdout };
}

/** One engine's time on one operation, measured in a child process of its own; a fault is a failed row. */
async function measureInChild(
  argv: ChildArgv,
  engine: string,
  operation: MicroOperation,
  childArgs: string[],
  timeoutSeconds: number,
): Promise<MicroRow> {
  const end = await runChild(argv, ['--engine', engine, '--operation', operation, ...childArgs], timeoutSeconds * 1000);
  const failed = (reason: string): MicroRow => ({ engine, operation, status: 'failed', reason });
  const failure = end.timedOut ? `timed out after ${timeoutSeconds} s` : crashReason(end);
  if (failure !== null) return failed(failure);
  let printed: unknown;
  try {
    printed = JSON.parse(end.stdout);
  } catch {
    return failed(`printed no row (${end.stdout.trim() === '' ? 'nothing on stdout' : 'not JSON'})`);
  }
  const parsed = microMeasuredSchema.safeParse(printed);
  if (!parsed.success) return failed(`printed a malformed row (${firstIssue(parsed.error)})`);
  if (parsed.data.engine !== engine || parsed.data.operation !== operation)
    return failed(`printed the row of ${parsed.data.engine} on ${parsed.data.operation}`);
  return parsed.data;
}

/** Every operation on every engine, grouped by operation so the engines sit next to each other for each one. */
async function measureAll(
  argv: ChildArgv,
  operations: readonly MicroOperation[],
  engines: readonly string[],
  childArgs: string[],
  timeoutSeconds: number,
): Promise<MicroRow[]> {
  const rows: MicroRow[] = [];
  for (const operation of operations) {
    for (const engine of engines) {
      process.stderr.write(`bench:micro: ${operation} on ${engine}…\n`);
      const row = await measureInChild(argv, engine, operation, childArgs, timeoutSeconds);
      if (row.status === 'failed')
        process.stderr.write(`bench:micro: ${operation} on ${engine} failed: ${row.reason}\n`);
      rows.push(row);
    }
  }
  return rows;
}

command({
  help,
  flags: {
    engines: { type: 'string' },
    operations: { type: 'string' },
    time: { type: 'string' },
    timeout: { type: 'string' },
    data: { type: 'string' },
    'results-dir': { type: 'string' },
    'reports-dir': { type: 'string' },
  },
  async run({ values, engines: registry }) {
    const engines = enginesFlag(registry, values.engines).map((e) => e.name);
    const operations = choiceListFlag('operations', values.operations, MICRO_OPERATIONS) as MicroOperation[];
    const timeMs = intFlag('time', values.time, DEFAULT_MICRO_TIME_MS);
    const timeoutSeconds = timeoutFlag(values.timeout, DEFAULT_TIMEOUT_SECONDS);
    const data = values.data === undefined ? undefined : resolve(values.data);
    if (data !== undefined) assertRereadable(loadDatasetFile(data), values.data!);
    const reportsDir = outputDir('reports-dir', values['reports-dir'] ?? REPORTS_DIR);
    const resultsDir = outputDir('results-dir', values['results-dir'] ?? RESULTS_DIR);
    const childArgs = ['--time', String(timeMs), ...(data === undefined ? [] : ['--data', data])];

    stopChildOnSignals();
    const rows = await measureAll(await childArgv(), operations, engines, childArgs, timeoutSeconds);
    const report: MicroReport = {
      rows,
      timeMs,
      data: data ?? 'embedded English first names',
      date: new Date().toISOString(),
      node: process.version,
      cpu: { model: cpus()[0]?.model ?? 'unknown CPU', count: cpus().length },
    };
    const stamp = timestamp();
    // The table first: should writing the files fail, the measurements are still on the screen.
    process.stdout.write(`${microMarkdown.serialize(report)}\n`);
    let paths: string[];
    try {
      paths = await writeFormats(MICRO_FORMATS, report, (suffix) =>
        join(suffix === 'md' ? reportsDir : resultsDir, `micro-${stamp}.${suffix}`),
      );
    } catch (err) {
      throw new CommandError(`writing the table failed (${ioReason(err)}); the measurements are the table above`);
    }
    process.stdout.write(paths.map((path) => `${path}\n`).join(''));
    const failed = rows.filter((r) => r.status === 'failed').length;
    if (failed > 0)
      throw new CommandError(
        `${failed} of ${rows.length} measurements failed; their rows say why (both files written)`,
      );
  },
});
