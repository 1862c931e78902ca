import { startEngine, type EngineInfo, type EngineRegistry } from '../engines/registry.ts';
import {
  DEFAULT_FD_SAMPLES,
  DEFAULT_TRAJECTORY_STEPS,
  gradcheck,
  TOLERANCE,
  type GradcheckOptions,
  type GradcheckResult,
} from '../scenarios/gradcheck.ts';
import { loadDataset, type Dataset } from '../workload/dataset.ts';
import type { TrainConfig } from '../workload/config.ts';
import { InputError } from '../engines/input-error.ts';
import { pytorchGradients, PytorchUnavailable } from '../scenarios/pytorch.ts';
import { textRow } from '../scenarios/output/table.ts';
import { formatExp } from '../scenarios/output/units.ts';
import { command, intFlag } from './cli.ts';
import { capturedLines, withOutputCaptured } from './captured-output.ts';
import { JOB_FLAGS, JOB_HELP, configFromFlags, defaultEnginesHelp, enginesFlag } from './job-flags.ts';

const help = (engines: EngineRegistry) => `Usage: npm run gradcheck -- [--engines a,b] [options]

Checks each engine's gradients on training step 1 (the first shuffled document) against the topo
engine's and against central finite differences, and its losses over the first training steps
against topo's. An engine passes when its gradients are within ${TOLERANCE.maxRelErr} (relative) of topo's,
the finite differences agree within ${TOLERANCE.fdMaxRelErr} and every loss is within ${TOLERANCE.lossDiff} of topo's.
A failed check is a result, not an error: the exit code is 0 either way. An engine that throws
gets a FAIL row saying so, the others are still checked, and the exit code is 1.

Options:
  --engines a,b          engines to check, from: ${engines.names().join(', ')}
                         (${defaultEnginesHelp(engines)})
  --trajectory-steps N   training steps whose losses are compared with topo's
                         (default ${DEFAULT_TRAJECTORY_STEPS}; 0 skips)
  --fd-samples N         parameters checked by finite differences (default ${DEFAULT_FD_SAMPLES}; 0 skips)
  --reference NAME       whose step-1 gradients to compare with: topo (default) or pytorch, the
                         project's PyTorch program of the job (frameworks/pytorch/: float64,
                         torch.autograd; needs Debian's python3-torch); the losses stay topo's
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
  ['max abs err', 12, (r) => formatExp(r.maxAbsErr)],
  ['max rel err', 12, (r) => formatExp(r.maxRelErr)],
  ['cosine', 9, (r) => r.cosine.toFixed(6)],
  ['wrong', 12, (r) => `${r.wrongParams}/${r.totalParams}`],
  ['fd rel err', 11, (r) => (r.fdSampled > 0 ? formatExp(r.fdMaxRelErr) : '-')],
  ['Δloss', 10, (r) => (r.trajectory.steps > 0 ? formatExp(r.trajectory.maxLossDiff) : '-')],
  // Which gradients the verdict compared with, when they were not topo's.
  ['verdict', 0, (r) => r.verdict + (r.gradientReference ? ` (vs ${r.gradientReference}'s gradients)` : '')],
];
const WIDTHS = COLUMNS.map(([, width]) => width);

/** A check's result with what the engine's libraries printed meanwhile (in --json; on stderr otherwise). */
type Checked = (GradcheckResult | Crash) & { output?: string };

/** One engine's check, or a Crash row if it threw; with the table's line for it. */
async function checkOne(engine: EngineInfo, opts: Omit<GradcheckOptions, 'engine'>): Promise<[Checked, string]> {
  const { value, output } = await withOutputCaptured(() => checkOrCrash(engine, opts));
  const [result, line] = value;
  return [output === '' ? result : { ...result, output }, line];
}

async function checkOrCrash(
  engine: EngineInfo,
  opts: Omit<GradcheckOptions, 'engine'>,
): Promise<[GradcheckResult | Crash, string]> {
  try {
    const r = await gradcheck({ engine, ...opts });
    return [
      r,
      textRow(
        COLUMNS.map(([, , cell]) => cell(r)),
        WIDTHS,
      ),
    ];
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
    const crash: Crash = { engine: engine.name, pass: false, verdict: `FAIL: threw ${error}`, error };
    return [crash, textRow([crash.engine, ...COLUMNS.slice(1, -1).map(() => '-'), crash.verdict], WIDTHS)];
  }
}

command({
  help,
  flags: {
    ...JOB_FLAGS,
    engines: { type: 'string' },
    'trajectory-steps': { type: 'string' },
    'fd-samples': { type: 'string' },
    json: { type: 'boolean' },
    reference: { type: 'string' },
  },
  async run({ values, engines: registry }) {
    const engines = enginesFlag(registry, values.engines);
    const config = configFromFlags(values);
    const trajectorySteps = intFlag('trajectory-steps', values['trajectory-steps'], DEFAULT_TRAJECTORY_STEPS, 0);
    const fdSamples = intFlag('fd-samples', values['fd-samples'], DEFAULT_FD_SAMPLES, 0);
    const dataset = loadDataset(values.data);
    const gradientReference = referenceFlag(values.reference, dataset, config);
    const reference = gradientReference?.name ?? 'topo';
    const json = values.json === true;
    const say = (line: string) => json || process.stdout.write(line + '\n');
    // Every engine started once before any output: one that cannot start is one line and exit 2.
    for (const engine of engines) await withOutputCaptured(() => startEngine(engine));
    say(
      `gradient check: ${dataset.source} (${dataset.docs.length} docs), seed ${config.seed}, ` +
        `step 1's gradients vs ${reference}, ${Math.min(trajectorySteps, config.steps)} steps of losses vs topo`,
    );
    say(
      textRow(
        COLUMNS.map(([title]) => title),
        WIDTHS,
      ),
    );
    const results: Checked[] = [];
    for (const engine of engines) {
      const [result, line] = await checkOne(engine, { dataset, config, trajectorySteps, fdSamples, gradientReference });
      results.push(result);
      say(line);
      if (!('cosine' in result)) process.exitCode = 1;
    }
    // Fewer parameters than asked may have a gradient to check on step 1: say so rather than cap silently.
    const sampled = results.find((r): r is GradcheckResult => 'fdSampled' in r)?.fdSampled ?? fdSamples;
    if (sampled < fdSamples) say(`note: --fd-samples ${fdSamples}: ${sampled} parameters can be checked on this job`);
    if (!json) for (const r of results) process.stderr.write(capturedLines(r.engine, r.output ?? ''));
    if (json) process.stdout.write(JSON.stringify(results) + '\n');
  },
});

/** --reference: undefined for topo's gradients (gradcheck's own), or PyTorch's computed here once. */
function referenceFlag(raw: string | undefined, dataset: Dataset, config: TrainConfig) {
  if (raw === undefined || raw === 'topo') return undefined;
  if (raw !== 'pytorch') throw new InputError(`--reference ${raw}: expected topo or pytorch`);
  try {
    return { name: 'pytorch', grads: pytorchGradients(dataset, config).grads };
  } catch (err) {
    if (err instanceof PytorchUnavailable) throw new InputError(`--reference pytorch: ${err.message}`);
    throw err;
  }
}
