import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { startEngine, type EngineRegistry } from '../engines/registry.ts';
import { formatMiB, formatPercent, formatSeconds } from '../scenarios/output/units.ts';
import { DivergedError, train, type TrainResult } from '../scenarios/train.ts';
import type { TrainConfig } from '../workload/config.ts';
import { loadDataset, type Dataset } from '../workload/dataset.ts';
import { CommandError, command, intFlag } from './cli.ts';
import { cpuProfilePath, startCpuProfile } from './cpu-profile.ts';
import { JOB_FLAGS, JOB_HELP, assertEngineFits, configFromFlags, engineFlag } from './job-flags.ts';
import { REPORTS_DIR } from './paths.ts';

const CPU_PROF_DIR = join(REPORTS_DIR, 'cpu-prof');

const help = (engines: EngineRegistry) => `Usage: npm run train -- [--engine NAME] [options]

Runs microgpt.py's training job (and its 20 samples) on one autograd engine.

Options:
  --engine NAME        one of: ${engines.names().join(', ')} (default topo)
  --json               print one JSON object with the full result on stdout. A run that diverges (a
                       loss, or the parameters before sampling, stop being finite) exits 1 and prints
                       {"status":"diverged", reason, step (1-based), loss (that step's; NaN and
                       Infinity as strings), losses (the steps before it), engine, config, seed, dataset}
  --log-every N        print microgpt.py's "step N / M | loss X" line every N steps (default: only
                       the progress bar, on a terminal)
  --no-timers          time the whole step only (measures the cost of the phase timers)
  --cpu-prof           write a V8 CPU profile of the job (training and sampling) as a .cpuprofile
                       for Chrome DevTools or speedscope, and print its path last (stderr with --json)
  --cpu-prof-dir DIR   where --cpu-prof writes, implies --cpu-prof (default ${CPU_PROF_DIR})
  --help               show this help
${JOB_HELP}`;

const PHASES = ['forward', 'softmax', 'backward', 'update'] as const;

/** microgpt.py's step line: "step   10 / 1000 | loss 3.1234". */
const stepLine = (step: number, steps: number, loss: number) =>
  `step ${String(step).padStart(4)} / ${String(steps).padStart(4)} | loss ${loss.toFixed(4)}`;

/** The closing lines: time and its split, graph size, losses and memory, then the samples. */
function resultLines(result: TrainResult, timers: boolean): string[] {
  const t = result.timingMs;
  const pct = (ms: number | null) => formatPercent(ms ?? NaN, t.total);
  const { nodesPerStep: nodes, edgesPerStep: edges } = result;
  return [
    `engine ${result.engine}: ${formatSeconds(t.total)} training, ${result.msPerStep.toFixed(3)} ms/step`,
    ...(timers ? [`  ${PHASES.map((p) => `${p} ${pct(t[p])}`).join(' | ')}`] : []),
    ...(timers && result.autograd === 'function'
      ? ["  (valueAndGrad: forward until the model's function returned, backward the library's gradient pass)"]
      : []),
    `  nodes/step ${Math.round(nodes.mean)} (max ${nodes.max}), ` +
      `edges/step ${Math.round(edges.mean)} (max ${edges.max})`,
    ...(result.gflops !== null
      ? [
          `  vector ops/step ${Math.round(result.vectorOpsPerStep ?? NaN)}, ` +
            `flops/step ${Math.round(result.flopsPerStep ?? NaN)} (forward + backward), ` +
            `${result.gflops.toFixed(2)} GFLOP/s`,
        ]
      : []),
    `  mean loss of the last ${Math.min(100, result.losses.length)} steps ${result.meanLossLast100.toFixed(4)}, ` +
      `peak heap ${formatMiB(result.memory.peakHeapBytes)}`,
    '--- inference (new, hallucinated names) ---',
    ...result.samples.map((s, i) => `sample ${String(i + 1).padStart(2)}: ${s}`),
  ];
}

/** A progress bar on stderr (drawn only on a terminal). */
const progressBar = (engine: string) =>
  new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${engine} [{bar}] step {value}/{total} | loss {loss} | eta {eta_formatted}`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );

/** What --json prints for a diverged run: where and how it diverged, the losses before it, and the job. */
function divergedJson(err: DivergedError, losses: number[], engine: string, config: TrainConfig, dataset: Dataset) {
  return {
    status: 'diverged',
    reason: err.message,
    step: err.step,
    loss: Number.isFinite(err.loss) ? err.loss : String(err.loss),
    losses: losses.slice(0, err.step - 1),
    engine,
    config,
    seed: config.seed,
    dataset: { source: dataset.source, docs: dataset.docs.length, sha256: dataset.sha256 },
  };
}

command({
  help,
  flags: {
    ...JOB_FLAGS,
    engine: { type: 'string' },
    json: { type: 'boolean' },
    'log-every': { type: 'string' },
    'no-timers': { type: 'boolean' },
    'cpu-prof': { type: 'boolean' },
    'cpu-prof-dir': { type: 'string' },
  },
  async run({ values, engines }) {
    const info = engineFlag(engines, values.engine);
    const config = configFromFlags(values);
    const logEvery = intFlag('log-every', values['log-every'], 0, 1);
    const dataset = loadDataset(values.data);
    assertEngineFits(info, config, dataset);
    const profileDir = values['cpu-prof-dir'] ?? (values['cpu-prof'] ? CPU_PROF_DIR : undefined);
    const profilePath = profileDir === undefined ? undefined : cpuProfilePath(profileDir, info.name);
    const json = values.json === true;
    const timers = values['no-timers'] !== true;
    const say = (line: string) => json || process.stdout.write(line + '\n');
    const bar = progressBar(info.name);
    const losses: number[] = [];
    const stopProfile = profilePath === undefined ? undefined : await startCpuProfile(profilePath);
    let result: TrainResult | DivergedError;
    try {
      result = train({
        engineName: info.name,
        engine: await startEngine(info),
        config,
        dataset,
        phaseTimers: timers,
        onStart: (job) => {
          say(`num docs: ${job.docs}`);
          say(`vocab size: ${job.vocabSize}`);
          say(`num params: ${job.numParams}`);
          bar.start(config.steps, 0, { loss: '-' });
        },
        onStep: (step, loss) => {
          // A NaN loss would poison every later step and crash sampling: stop here, with the losses so far.
          if (!Number.isFinite(loss))
            throw new DivergedError(step, loss, `loss became ${loss} at step ${step} of ${config.steps}`);
          losses.push(loss);
          bar.update(step, { loss: loss.toFixed(4) });
          if (logEvery > 0 && step % logEvery === 0) say(stepLine(step, config.steps, loss));
        },
      });
    } catch (err) {
      if (!(err instanceof DivergedError)) throw err;
      result = err;
    } finally {
      bar.stop();
      await stopProfile?.();
    }

    if (json) {
      const out = result instanceof DivergedError ? divergedJson(result, losses, info.name, config, dataset) : result;
      process.stdout.write(JSON.stringify(out) + '\n');
    } else if (!(result instanceof DivergedError)) {
      if (logEvery === 0 || config.steps % logEvery !== 0) say(stepLine(config.steps, config.steps, result.finalLoss));
      resultLines(result, timers).forEach(say);
    }
    if (profilePath) (json ? process.stderr : process.stdout).write(`cpu profile: ${profilePath}\n`);
    if (result instanceof DivergedError) throw new CommandError(`diverged: ${result.message}`);
  },
});
