import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { train } from '../scenarios/train.ts';
import { loadDataset } from '../workload/dataset.ts';
import { engineNames } from '../engines/registry.ts';
import { intFlag, parseFlags, runCli } from './cli.ts';
import { cpuProfilePath, startCpuProfile } from './cpu-profile.ts';
import { JOB_FLAGS, JOB_HELP, configFromFlags, engineFlag } from './job-flags.ts';
import { REPORTS_DIR } from './paths.ts';

const CPU_PROF_DIR = join(REPORTS_DIR, 'cpu-prof');

const HELP = `Usage: npm run train -- [--engine NAME] [options]

Runs microgpt.py's training job (and its 20 samples) on one autograd engine.

Options:
  --engine NAME        one of: ${engineNames().join(', ')} (default topo)
  --json               print one JSON object with the full result on stdout
  --log-every N        print microgpt.py's "step N / M | loss X" line every N steps (default: only
                       the progress bar, on a terminal)
  --no-timers          time the whole step only (measures the cost of the phase timers)
  --cpu-prof           write a V8 CPU profile of the job (training and sampling) as a .cpuprofile
                       for Chrome DevTools or speedscope, and print its path last (stderr with --json)
  --cpu-prof-dir DIR   where --cpu-prof writes, implies --cpu-prof (default ${CPU_PROF_DIR})
  --help               show this help
${JOB_HELP}`;

runCli(async () => {
  const { values } = parseFlags(process.argv.slice(2), {
    ...JOB_FLAGS,
    engine: { type: 'string' },
    json: { type: 'boolean' },
    'log-every': { type: 'string' },
    'no-timers': { type: 'boolean' },
    'cpu-prof': { type: 'boolean' },
    'cpu-prof-dir': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const info = engineFlag(values.engine);
  const config = configFromFlags(values);
  const logEvery = intFlag('log-every', values['log-every'], 0, 1);
  const dataset = loadDataset(values.data);
  const profileDir = values['cpu-prof-dir'] ?? (values['cpu-prof'] ? CPU_PROF_DIR : undefined);
  const profilePath = profileDir === undefined ? undefined : cpuProfilePath(profileDir, info.name);
  const json = values.json === true;
  const say = (line: string) => {
    if (!json) process.stdout.write(line + '\n');
  };
  const stepLine = (step: number, loss: number) =>
    `step ${String(step).padStart(4)} / ${String(config.steps).padStart(4)} | loss ${loss.toFixed(4)}`;

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
    phaseTimers: values['no-timers'] !== true,
    onStart: (job) => {
      say(`num docs: ${job.docs}`);
      say(`vocab size: ${job.vocabSize}`);
      say(`num params: ${job.numParams}`);
      bar.start(config.steps, 0, { loss: '-' });
    },
    onStep: (step, loss) => {
      bar.update(step, { loss: loss.toFixed(4) });
      if (logEvery > 0 && step % logEvery === 0) say(stepLine(step, loss));
    },
  });
  bar.stop();
  await stopProfile?.();

  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    if (profilePath) process.stderr.write(`cpu profile: ${profilePath}\n`);
    return;
  }
  const t = result.timingMs;
  const pct = (ms: number | null) => `${((100 * ms!) / t.total).toFixed(1)}%`;
  if (logEvery === 0 || config.steps % logEvery !== 0) say(stepLine(config.steps, result.finalLoss));
  say(`engine ${info.name}: ${(t.total / 1000).toFixed(3)} s training, ${result.msPerStep.toFixed(3)} ms/step`);
  if (values['no-timers'] !== true) {
    say(
      `  forward ${pct(t.forward)} | softmax ${pct(t.softmax)} | backward ${pct(t.backward)} | update ${pct(t.update)}`,
    );
  }
  say(
    `  nodes/step ${Math.round(result.nodesPerStep.mean)} (max ${result.nodesPerStep.max}), edges/step ${Math.round(result.edgesPerStep.mean)} (max ${result.edgesPerStep.max})`,
  );
  if (result.gflops !== null) {
    say(
      `  vector ops/step ${Math.round(result.vectorOpsPerStep!)}, flops/step ${Math.round(result.flopsPerStep!)} (forward + backward), ${result.gflops.toFixed(2)} GFLOP/s`,
    );
  }
  say(
    `  mean loss of the last 100 steps ${result.meanLossLast100.toFixed(4)}, peak heap ${(result.memory.peakHeapBytes / 2 ** 20).toFixed(1)} MiB`,
  );
  say('--- inference (new, hallucinated names) ---');
  result.samples.forEach((s, i) => say(`sample ${String(i + 1).padStart(2)}: ${s}`));
  if (profilePath) say(`cpu profile: ${profilePath}`);
});
