import { join } from 'node:path';
import cliProgress from 'cli-progress';
import type { EngineRegistry } from '../engines/registry.ts';
import { formatMiB, formatPercent, formatSeconds } from '../scenarios/output/units.ts';
import { train, type TrainResult } from '../scenarios/train.ts';
import { loadDataset } from '../workload/dataset.ts';
import { command, intFlag } from './cli.ts';
import { cpuProfilePath, startCpuProfile } from './cpu-profile.ts';
import { JOB_FLAGS, JOB_HELP, configFromFlags, engineFlag } from './job-flags.ts';
import { REPORTS_DIR } from './paths.ts';

const CPU_PROF_DIR = join(REPORTS_DIR, 'cpu-prof');

const help = (engines: EngineRegistry) => `Usage: npm run train -- [--engine NAME] [options]

Runs microgpt.py's training job (and its 20 samples) on one autograd engine.

Options:
  --engine NAME        one of: ${engines.names().join(', ')} (default topo)
  --json               print one JSON object with the full result on stdout
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
    `  nodes/step ${Math.round(nodes.mean)} (max ${nodes.max}), ` +
      `edges/step ${Math.round(edges.mean)} (max ${edges.max})`,
    ...(result.gflops !== null
      ? [
          `  vector ops/step ${Math.round(result.vectorOpsPerStep ?? NaN)}, ` +
            `flops/step ${Math.round(result.flopsPerStep ?? NaN)} (forward + backward), ` +
            `${result.gflops.toFixed(2)} GFLOP/s`,
        ]
      : []),
    `  mean loss of the last 100 steps ${result.meanLossLast100.toFixed(4)}, ` +
      `peak heap ${formatMiB(result.memory.peakHeapBytes)}`,
    '--- inference (new, hallucinated names) ---',
    ...result.samples.map((s, i) => `sample ${String(i + 1).padStart(2)}: ${s}`),
  ];
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
    const profileDir = values['cpu-prof-dir'] ?? (values['cpu-prof'] ? CPU_PROF_DIR : undefined);
    const profilePath = profileDir === undefined ? undefined : cpuProfilePath(profileDir, info.name);
    const json = values.json === true;
    const timers = values['no-timers'] !== true;
    const say = (line: string) => json || process.stdout.write(line + '\n');
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${info.name} [{bar}] step {value}/{total} | loss {loss} | eta {eta_formatted}`,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    const stopProfile = profilePath === undefined ? undefined : await startCpuProfile(profilePath);
    const result = train({
      engineName: info.name,
      engine: info.create(),
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
        bar.update(step, { loss: loss.toFixed(4) });
        if (logEvery > 0 && step % logEvery === 0) say(stepLine(step, config.steps, loss));
      },
    });
    bar.stop();
    await stopProfile?.();

    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    else {
      if (logEvery === 0 || config.steps % logEvery !== 0) say(stepLine(config.steps, config.steps, result.finalLoss));
      resultLines(result, timers).forEach(say);
    }
    if (profilePath) (json ? process.stderr : process.stdout).write(`cpu profile: ${profilePath}\n`);
  },
});
