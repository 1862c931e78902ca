/**
 * The Markdown report: comparison table, per-engine profile, environment and the commands that
 * reproduce it. It depends only on the folders' runs.jsonl and env.json (no clock, no machine
 * state), so regenerating it from the same folders gives the same bytes.
 */
import type { ResultsFolder } from '../../bench/results.ts';
import { STAND_IN } from '../../bench/reference.ts';
import { BASELINE, statusText, summarize, verdictText, type EngineSummary } from '../../bench/summary.ts';
import { datasetLabel, formatCount, formatLoss, formatMiB, formatNumber, formatSpeedup, formatTime } from '../units.ts';
import { oneLine, markdownTable as table } from '../table.ts';
import { groupByJob } from '../../bench/jobs.ts';
import { countsRows } from '../../bench/counts/rows.ts';
import { machineLabels, type Exporter, type Folders } from './exporter.ts';
import {
  COST_HEADERS,
  costCells,
  COUNTS_HEADERS,
  COUNTS_NOTE,
  countsCells,
  measuredMsPerStep,
  DIRTY_NOTE,
  environmentRows,
  jobLine,
  PROCESS_COST_NOTE,
  reproduceCommands,
  shellQuote,
} from './report-parts.ts';

const PHASES = ['forward', 'backward', 'softmax', 'update'] as const;

const COMPARISON_NOTE = [
  'Time is the training time of each timed trial (forward, backward and update; process start-up and sampling',
  `excluded): the median, and the range over the trials. Speedup is ${BASELINE}'s median time over the engine's,`,
  `its range from the extreme pairs (${BASELINE}'s fastest over the engine's slowest … ${BASELINE}'s slowest over`,
  "the engine's fastest). Losses, nodes/step and the profile come from each engine's median trial; nodes/step",
  "counts the scalar nodes reachable from the loss, leaves included (a vector-level engine's, its vectors). Peak",
  "heap is the largest JavaScript heap in use seen after every 10th step. Gradients: the gradient check's verdict",
  `against ${BASELINE} and finite differences.`,
].join(' ');

export const markdownReport: Exporter<Folders> = {
  serialize(folders) {
    const labels = machineLabels(folders);
    const multi = folders.length > 1;
    const rowsOf = (group: readonly ResultsFolder[]) =>
      group.flatMap((folder) => summarize(folder).map((s) => ({ label: labels[folders.indexOf(folder)], s })));
    const rows = rowsOf(folders);
    return (
      [
        '# microgpt-bench: engine comparison',
        '',
        ...folders.map((f, i) => oneLine(multi ? `- **${labels[i]}**: ${jobLine(f)}` : jobLine(f))),
        '',
        '## Comparison',
        '',
        ...comparison(groupByJob(folders), rowsOf, multi),
        '',
        COMPARISON_NOTE,
        ...externalPrograms(rows, multi),
        '',
        '## Process cost',
        '',
        ...processCostTable(rows, multi),
        '',
        PROCESS_COST_NOTE,
        ...countsSection(folders, labels, multi),
        '',
        '## Profile',
        '',
        `Where each engine's median trial spent its training time (forward excludes softmax, timed on its own).`,
        ...rows.flatMap(({ label, s }) => profile(s, multi ? label : null)),
        '',
        '## Environment',
        '',
        ...table(['', ...labels], environmentRows(folders)),
        '',
        '## Reproduce',
        '',
        ...folders.flatMap((f, i) => reproduce(f, multi ? labels[i] : null)),
        'Regenerate this report from the saved results (no rerun):',
        '',
        '```sh',
        `npm run report -- ${folders.map((f) => shellQuote(f.dir)).join(' ')}`,
        '```',
      ].join('\n') + '\n'
    );
  },
};

type Row = { label: string; s: EngineSummary };

/** One table, or one per job when the folders ran different jobs: their figures are not comparable. */
function comparison(groups: ResultsFolder[][], rowsOf: (g: readonly ResultsFolder[]) => Row[], multi: boolean) {
  if (groups.length === 1) return comparisonTable(rowsOf(groups[0]), groups[0][0].env.config.steps, multi);
  return [
    `These folders ran ${groups.length} different jobs (the dataset, steps, seed or hyperparameters differ), ` +
      'so each job has a table of its own.',
    ...groups.flatMap((group, k) => [
      '',
      oneLine(`### Job ${k + 1}: ${jobTitle(group[0])}`),
      '',
      ...comparisonTable(rowsOf(group), group[0].env.config.steps, multi),
    ]),
  ];
}

/** "5 steps on names.txt (sha256 …), seed 42; nLayer 1, …": everything that tells one job from another. */
function jobTitle(f: ResultsFolder): string {
  const { config, dataset } = f.env;
  const others = Object.entries(config).filter(([k]) => k !== 'steps' && k !== 'seed');
  return (
    `${config.steps} steps on ${datasetLabel(dataset.source)} (sha256 ${dataset.sha256.slice(0, 8)}), ` +
    `seed ${config.seed}; ${others.map(([k, v]) => `${k} ${v}`).join(', ')}`
  );
}

function comparisonTable(allRows: Row[], steps: number, multi: boolean): string[] {
  const rows = allRows.filter(({ s }) => !s.external);
  const showGflops = rows.some(({ s }) => typeof s.typical?.result.gflops === 'number');
  const headers = [
    ...(multi ? ['machine'] : []),
    'engine',
    'study row',
    'time, median (min–max)',
    `speedup vs ${BASELINE}`,
    'final loss',
    `mean loss, last ${Math.min(100, steps)}`,
    'nodes/step',
    'peak heap',
    ...(showGflops ? ['GFLOP/s'] : []),
    'gradients',
    'status',
  ];
  const body = rows.map(({ label, s }) => {
    const r = s.typical?.result;
    const gflops = r?.gflops;
    return [
      ...(multi ? [label] : []),
      s.engine,
      s.study,
      s.timeMs ? formatTime(s.timeMs) : '—',
      s.engine === BASELINE && s.speedup ? 'baseline' : s.speedup ? formatSpeedup(s.speedup) : '—',
      formatLoss(r?.finalLoss),
      formatLoss(r?.meanLossLast100),
      r ? `${formatCount(r.nodesPerStep.mean)}${typeof r.vectorOpsPerStep === 'number' ? ' vectors' : ''}` : '—',
      r ? formatMiB(r.memory.peakHeapBytes) : '—',
      ...(showGflops ? [typeof gflops === 'number' ? formatNumber(gflops) : '—'] : []),
      verdictText(s),
      statusText(s),
    ];
  });
  return table(headers, body);
}

const EXTERNALS_NOTE = [
  "Each program ran as a process of its own, round-robin with the engines' trials. Time is the wall time of",
  `the whole process; vs ${BASELINE} divides ${BASELINE}'s median wall time by the program's (not training`,
  "times: a program's start-up is in its figure, and an engine's is in its own). Training time is what the",
  `program printed, where it prints one. Losses: its printed losses against the reference's on the same job`,
  `(${BASELINE}'s trial, or ${STAND_IN}'s run of the job, ${BASELINE}'s stand-in, when ${BASELINE} did not run: the`,
  'verdict says which), at the precision it printed them, and its samples; a program that runs a job of its',
  'own whatever it is given is not comparable.',
].join(' ');

/** The external programs' table, after the engines'; nothing when there are none. */
function externalPrograms(rows: Row[], multi: boolean): string[] {
  const programs = rows.filter(({ s }) => s.external);
  if (programs.length === 0) return [];
  const headers = [
    ...(multi ? ['machine'] : []),
    'program',
    'command',
    'wall time, median (min–max)',
    `vs ${BASELINE}, wall`,
    'training time (printed)',
    'last printed loss',
    'losses',
    'status',
  ];
  const body = programs.map(({ label, s }) => {
    const last = s.external?.typical?.result.losses.at(-1);
    return [
      ...(multi ? [label] : []),
      s.engine,
      `\`${s.external!.command.map(shellQuote).join(' ')}\``,
      s.wallMs ? formatTime(s.wallMs) : '—',
      s.speedup ? formatSpeedup(s.speedup) : '—',
      s.timeMs ? formatTime(s.timeMs) : '—',
      last ? `${last.loss} (step ${last.step})` : '—',
      verdictText(s),
      statusText(s),
    ];
  });
  return ['', '### External programs', '', ...table(headers, body), '', EXTERNALS_NOTE];
}

function processCostTable(rows: Row[], multi: boolean): string[] {
  const body = rows.map(({ label, s }) => [...(multi ? [label] : []), s.engine, ...costCells(s)]);
  return table([...(multi ? ['machine'] : []), 'name', ...COST_HEADERS], body);
}

/** The count pass's table, when any folder has one. */
function countsSection(folders: Folders, labels: readonly string[], multi: boolean): string[] {
  const body = folders.flatMap((folder, i) => {
    const summaries = summarize(folder);
    return countsRows(folder).map((c) => {
      const s = summaries.find((x) => x.engine === c.engine);
      const measured = s ? measuredMsPerStep(s, folder.env.config.steps) : null;
      return [...(multi ? [labels[i]] : []), c.engine, ...countsCells(c, measured, s?.external != null)];
    });
  });
  if (body.length === 0) return [];
  const headers = [...(multi ? ['machine'] : []), 'name', ...COUNTS_HEADERS];
  return ['', '## Instruction counts', '', ...table(headers, body), '', COUNTS_NOTE];
}

/** What the phases of an engine that differentiates a function are. */
export const FUNCTION_PHASES_NOTE =
  'This engine differentiates a function (valueAndGrad): forward is its run of the model until the model ' +
  "returned (the library taping as it computes), backward the library's gradient pass after it, in the same call.";

function profile(s: EngineSummary, label: string | null): string[] {
  if (!s.typical) return [];
  const t = s.typical.result.timingMs;
  // A phase is null when the run had no phase timers.
  const row = (name: string, ms: number | null) =>
    ms === null ? [name, '—', '—'] : [name, (ms / 1000).toFixed(3), `${((100 * ms) / t.total).toFixed(1)}%`];
  return [
    '',
    oneLine(`### ${s.engine}${label ? ` on ${label}` : ''}: trial ${s.typical.trial}`),
    '',
    ...table(
      ['phase', 'seconds', '%'],
      [...PHASES.map((p) => row(p, t[p])), row('total', t.total)],
      ['---', '---:', '---:'],
    ),
    ...(s.typical.result.autograd === 'function' ? ['', FUNCTION_PHASES_NOTE] : []),
  ];
}

function reproduce(f: ResultsFolder, label: string | null): string[] {
  const { lines, dirty } = reproduceCommands(f);
  return [
    ...(label ? [oneLine(`On ${label}:`), ''] : []),
    '```sh',
    ...lines,
    '```',
    ...(dirty ? ['', DIRTY_NOTE] : []),
    '',
  ];
}
