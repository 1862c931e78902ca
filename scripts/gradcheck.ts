import { engineNames } from '../engines/registry.ts';
import {
  DEFAULT_FD_SAMPLES,
  DEFAULT_TRAJECTORY_STEPS,
  gradcheck,
  TOLERANCE,
  type GradcheckResult,
} from '../scenarios/gradcheck.ts';
import { loadDataset } from '../workload/dataset.ts';
import { intFlag, parseFlags, runCli } from './cli.ts';
import { JOB_FLAGS, JOB_HELP, configFromFlags, enginesFlag } from './job-flags.ts';

const HELP = `Usage: npm run gradcheck -- [--engines a,b] [options]

Checks each engine's gradients on training step 1 (the first shuffled document) against the topo
engine's and against central finite differences, and its losses over the first training steps
against topo's. An engine passes when its gradients are within ${TOLERANCE.maxRelErr} (relative) of topo's,
the finite differences agree within ${TOLERANCE.fdMaxRelErr} and every loss is within ${TOLERANCE.lossDiff} of topo's.
A failed check is a result, not an error: the exit code is 0 either way. An engine that throws
gets a FAIL row saying so, the others are still checked, and the exit code is 1.

Options:
  --engines a,b          engines to check, from: ${engineNames().join(', ')} (default: all)
  --trajectory-steps N   training steps whose losses are compared with topo's (default ${DEFAULT_TRAJECTORY_STEPS}; 0 skips)
  --fd-samples N         parameters checked by finite differences (default ${DEFAULT_FD_SAMPLES}; 0 skips)
  --json                 print one JSON array of results on stdout instead of the table
  --help                 show this help
${JOB_HELP}`;

/** An engine that threw instead of producing a result: its row says so. */
interface Crash {
  engine: string;
  pass: false;
  verdict: string;
  error: string;
}

const COLUMNS: [string, number, (r: GradcheckResult) => string][] = [
  ['engine', 12, (r) => r.engine],
  ['max abs err', 12, (r) => fmt(r.maxAbsErr)],
  ['max rel err', 12, (r) => fmt(r.maxRelErr)],
  ['cosine', 9, (r) => r.cosine.toFixed(6)],
  ['wrong', 12, (r) => `${r.wrongParams}/${r.totalParams}`],
  ['fd rel err', 11, (r) => (r.fdSampled > 0 ? fmt(r.fdMaxRelErr) : '-')],
  ['Δloss', 10, (r) => (r.trajectory.steps > 0 ? fmt(r.trajectory.maxLossDiff) : '-')],
  ['verdict', 0, (r) => r.verdict],
];

function fmt(x: number): string {
  return x === 0 ? '0' : x.toExponential(2);
}

function row(cells: string[]): string {
  return cells
    .map((c, i) => c.padEnd(COLUMNS[i][1]))
    .join('  ')
    .trimEnd();
}

runCli(() => {
  const { values } = parseFlags(process.argv.slice(2), {
    ...JOB_FLAGS,
    engines: { type: 'string' },
    'trajectory-steps': { type: 'string' },
    'fd-samples': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const engines = enginesFlag(values.engines);
  const config = configFromFlags(values);
  const trajectorySteps = intFlag('trajectory-steps', values['trajectory-steps'], DEFAULT_TRAJECTORY_STEPS, 0);
  const fdSamples = intFlag('fd-samples', values['fd-samples'], DEFAULT_FD_SAMPLES, 0);
  const dataset = loadDataset(values.data);
  const json = values.json === true;

  if (!json) {
    process.stdout.write(
      `gradient check: ${dataset.source} (${dataset.docs.length} docs), seed ${config.seed}, step 1's gradients and ${Math.min(trajectorySteps, config.steps)} steps of losses vs topo\n`,
    );
    process.stdout.write(row(COLUMNS.map(([title]) => title)) + '\n');
  }
  const results: (GradcheckResult | Crash)[] = [];
  for (const engine of engines) {
    try {
      const r = gradcheck({ engine, dataset, config, trajectorySteps, fdSamples });
      results.push(r);
      if (!json) process.stdout.write(row(COLUMNS.map(([, , cell]) => cell(r))) + '\n');
    } catch (err) {
      const error = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
      const crash: Crash = { engine: engine.name, pass: false, verdict: `FAIL: threw ${error}`, error };
      results.push(crash);
      if (!json)
        process.stdout.write(row([crash.engine, ...COLUMNS.slice(1, -1).map(() => '-'), crash.verdict]) + '\n');
      process.exitCode = 1;
    }
  }
  if (json) process.stdout.write(JSON.stringify(results) + '\n');
});
