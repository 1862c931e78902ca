/**
 * The fault model of bench:all and the output paths of every command: each test reproduces one
 * defect found by trying the commands as a hostile user would, and asserts the fixed behaviour.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainKind } from '../scenarios/bench/kinds/index.ts';
import { outcomeOf } from '../scenarios/bench/process-executor.ts';
import { readResultsFolder } from '../scenarios/bench/results.ts';
import { summarize } from '../scenarios/bench/summary.ts';
import { speedupLine } from '../scenarios/output/bench-summary.ts';
import { expectInputError, ROOT, runScript, runsOf, SMALL_MODEL_FLAGS, tempDirs } from './helpers.ts';

const tmp = tempDirs()('faults');
const TINY_JOB = ['--steps', '4', '--samples', '0', ...SMALL_MODEL_FLAGS];

describe('5 and 6: output paths are checked before any work, and fail in one line', () => {
  const long = 'x'.repeat(300);
  const cases: [string, string, string[], RegExp][] = [
    [
      'bench:all --out under /proc',
      'bench-all.ts',
      ['--out', '/proc/x'],
      /^error: --out \/proc\/x: cannot create it \(ENOENT\)$/,
    ],
    [
      'bench:all --out too long a name',
      'bench-all.ts',
      ['--out', join(tmp, long), '--report', join(tmp, 'short.md')],
      /cannot create it \(ENAMETOOLONG\)$/,
    ],
    [
      'bench:all --report too long a name',
      'bench-all.ts',
      ['--report', join(tmp, `${long}.md`)],
      /cannot write it \(ENAMETOOLONG\)$/,
    ],
    ['bench:all --report in /sys', 'bench-all.ts', ['--report', '/sys/kernel/r.md'], /cannot write in it \(EACCES\)$/],
    [
      'report --output under /proc',
      'report.ts',
      ['test/fixtures/bench-results/complete', '--output', '/proc/new/x.md'],
      /^error: --output \/proc\/new: cannot create the folder \(ENOENT\)$/,
    ],
    [
      'report --output too long a name',
      'report.ts',
      ['test/fixtures/bench-results/complete', '--output', join(tmp, `${long}.md`)],
      /cannot write it \(ENAMETOOLONG\)$/,
    ],
    [
      'train --cpu-prof-dir under /proc',
      'train.ts',
      ['--cpu-prof-dir', '/proc/new'],
      /cannot create the folder \(ENOENT\)$/,
    ],
    ['train --cpu-prof-dir in /sys', 'train.ts', ['--cpu-prof-dir', '/sys/kernel'], /cannot write in it \(EACCES\)$/],
    ['flame --out in /sys', 'flame.ts', ['--out', '/sys/kernel'], /cannot write in it \(EACCES\)$/],
    [
      'bench:micro --results-dir in /sys',
      'bench-micro.ts',
      ['--results-dir', '/sys/kernel'],
      /cannot write in it \(EACCES\)$/,
    ],
  ];
  for (const [name, script, args, message] of cases) it(name, () => expectInputError(script, args, message));
});

describe('7: result files are checked against their schema', () => {
  const COMPLETE = join(ROOT, 'test/fixtures/bench-results/complete');
  function folderWith(name: string, file: 'runs.jsonl' | 'env.json', edit: (text: string) => string): string {
    const dir = join(tmp, name);
    for (const f of ['runs.jsonl', 'env.json']) {
      const text = readFileSync(join(COMPLETE, f), 'utf8');
      writeFileSync(join(dir, f), f === file ? edit(text) : text, { flag: 'w' });
    }
    return dir;
  }
  const firstLine = (edit: (run: Record<string, unknown>) => void) => (text: string) => {
    const lines = text.split('\n');
    const run = JSON.parse(lines[0]);
    edit(run);
    lines[0] = JSON.stringify(run);
    return lines.join('\n');
  };
  const bad = (name: string, file: 'runs.jsonl' | 'env.json', edit: (text: string) => string, message: RegExp) =>
    it(name, () => {
      const dir = join(tmp, name.replace(/\W+/g, '-'));
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      expectInputError('report.ts', [folderWith(dir.slice(tmp.length + 1), file, edit)], message);
    });

  bad(
    'an ok run with an empty result',
    'runs.jsonl',
    firstLine((r) => (r.result = {})),
    /runs\.jsonl:1: not a run record \(result\.engine: /,
  );
  bad(
    'a result without its timing',
    'runs.jsonl',
    firstLine((r) => delete (r.result as Record<string, unknown>).timingMs),
    /runs\.jsonl:1: not a run record \(result\.timingMs: /,
  );
  bad(
    'a time that is not a number',
    'runs.jsonl',
    firstLine((r) => ((r.result as { timingMs: { total: unknown } }).timingMs.total = 'fast')),
    /runs\.jsonl:1: not a run record \(result\.timingMs\.total: /,
  );
  bad(
    'an unknown kind',
    'runs.jsonl',
    firstLine((r) => (r.kind = 'teleport')),
    /runs\.jsonl:1: not a run record \(kind: /,
  );
  bad(
    'env.json with wrong types',
    'env.json',
    (t) => t.replace('"trials": 2', '"trials": "two"'),
    /env\.json: not a bench:all env\.json \(bench\.trials: /,
  );

  it('a runs.jsonl that is a folder', () => {
    const dir = join(tmp, 'runs-folder');
    mkdirSync(join(dir, 'runs.jsonl'), { recursive: true });
    writeFileSync(join(dir, 'env.json'), readFileSync(join(COMPLETE, 'env.json')));
    expectInputError('report.ts', [dir], /runs\.jsonl: cannot read it \(EISDIR\)$/);
  });
});

describe('13: smaller defects', () => {
  const COMPLETE = 'test/fixtures/bench-results/complete';

  it('"ran Nx faster" lines say when the gradients are wrong or trials are missing', () => {
    const folder = readResultsFolder(COMPLETE);
    const lines = summarize(folder).map(speedupLine);
    expect(lines).toContain('stack ran 1.16x faster than topo (range 1.09–1.22) (wrong gradients)');
    expect(lines).toContain('tape ran 14.1x faster than topo (range 10.4–20.7)');
    // An external program: compared on wall time, and its losses' verdict in short.
    expect(lines).toContain(
      'own-stack ran 1.07x faster than topo in wall time (range 1.04–1.10) (differs from step 2)',
    );
    const oneTapeTrial = { ...folder, runs: folder.runs.filter((r) => !(r.engine === 'tape' && r.trial === 2)) };
    expect(summarize(oneTapeTrial).map(speedupLine)).toContainEqual(
      expect.stringMatching(/^tape ran .* \(1 of 2 trials\)$/),
    );
  });

  it('env.json records NODE_OPTIONS and the Node flags the runs inherit', () => {
    const out = join(tmp, 'node-flags');
    const args = ['--engines', 'tensor', '--trials', '1', ...TINY_JOB, '--out', out];
    args.push('--report', join(tmp, 'nf.md'), '--no-page');
    const r = runScript('bench-all.ts', args, { env: { NODE_OPTIONS: '--max-old-space-size=300' } });
    expect(r.status, r.stderr).toBe(0);
    const env = JSON.parse(readFileSync(join(out, 'env.json'), 'utf8'));
    expect(env.command).toMatchObject({ nodeOptions: '--max-old-space-size=300', execArgv: [] });
  });

  it('a flag given twice is an error, not a silent choice of the last', () =>
    expectInputError('train.ts', ['--steps', '2', '--steps', '3'], /^error: --steps is given more than once$/));

  it('--fd-samples above what the job can check says so', () => {
    const r = runScript('gradcheck.ts', ['--engines', 'tensor', '--steps', '2', '--fd-samples', '100000']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\nnote: --fd-samples 100000: \d+ parameters can be checked on this job\n$/);
  });
});

describe('9: divergence in bench:all', () => {
  it('a model whose logits stop being finite makes a diverged row, not a failed one', () => {
    const out = join(tmp, 'lr-diverges');
    const args = ['--engines', 'tensor', '--trials', '1', '--steps', '1', '--samples', '1', '--lr', '1e300'];
    const r = runScript('bench-all.ts', [...args, '--out', out, '--report', join(tmp, 'lr.md'), '--no-page']);
    expect(r.status, r.stderr).toBe(0);
    expect(runsOf(out)[0]).toMatchObject({
      kind: 'train',
      status: 'diverged',
      divergedAtStep: 1,
      reason: 'sampling: the logits are not finite at position 7',
    });
  });
});

describe('13: a profile shows what is timed', () => {
  it('the profiled job never asks the engine for its graph size, which no training time includes', () => {
    const module = join(tmp, 'no-graph-stats.ts');
    writeFileSync(
      module,
      [
        `import { TopoEngine } from '${join(ROOT, 'engines/topo.ts')}';`,
        'class Unasked extends TopoEngine {',
        "  override graphStats(): never { throw new Error('graphStats called'); }",
        '}',
        'export const engines = [',
        "  { name: 'unasked', description: 'topo refusing graphStats', study: 'test', create: () => new Unasked() },",
        '];',
        '',
      ].join('\n'),
    );
    const summary = join(tmp, 'profiled.json');
    const r = runScript(
      'profile-target.ts',
      ['--engine', 'unasked', '--steps', '3', '--samples', '0', '--summary', summary],
      {
        env: { MICROGPT_BENCH_ENGINES: module },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(summary, 'utf8'))).toMatchObject({ engine: 'unasked', steps: 3 });
  });
});

describe('11: incomparable or repeated folders', () => {
  const COMPLETE = join(ROOT, 'test/fixtures/bench-results/complete');

  it('folders that ran different jobs get a table each, with a line saying so', () => {
    const other = join(tmp, 'seed-7');
    mkdirSync(other);
    writeFileSync(join(other, 'runs.jsonl'), readFileSync(join(COMPLETE, 'runs.jsonl')));
    const env = JSON.parse(readFileSync(join(COMPLETE, 'env.json'), 'utf8'));
    writeFileSync(join(other, 'env.json'), JSON.stringify({ ...env, seed: 7, config: { ...env.config, seed: 7 } }));
    const output = join(tmp, 'two-jobs.md');
    const r = runScript('report.ts', [COMPLETE, other, '--output', output]);
    expect(r.status, r.stderr).toBe(0);
    const md = readFileSync(output, 'utf8');
    expect(md).toContain('These folders ran 2 different jobs (the dataset, steps, seed or hyperparameters differ)');
    expect(
      md.match(/^### Job \d: 5 steps on embedded names \(sha256 775649a6\), seed (42|7); nLayer 1, /gm),
    ).toHaveLength(2);
    const jobs = md.split(/^### Job \d/m).slice(1, 3);
    expect(jobs[0]).toMatch(/\| vm \(complete\) \| topo \|/);
    expect(jobs[0]).not.toMatch(/\| vm \(seed-7\) \|/);
    expect(jobs[1]).toMatch(/\| vm \(seed-7\) \| topo \|/);
  });

  it('the same folder twice is refused: its runs would count twice', () =>
    expectInputError(
      'report.ts',
      [COMPLETE, `${COMPLETE}/`],
      /^error: .*complete\/: the same results folder is given twice$/,
    ));
});

describe('11: reports of folders with the same name', () => {
  it('never overwrite each other: the second gets name-2, and regenerating one replaces its own', () => {
    const name = `same-name-${process.pid}`;
    const [a, b] = ['a', 'b'].map((side) => {
      const dir = join(tmp, side, name);
      mkdirSync(dir, { recursive: true });
      for (const f of ['runs.jsonl', 'env.json']) {
        writeFileSync(join(dir, f), readFileSync(join(ROOT, 'test/fixtures/bench-results/complete', f)));
      }
      return dir;
    });
    const reports = ['md', '2.md'].map((end) => join(ROOT, 'reports', `${name}${end === 'md' ? '' : '-2'}.md`));
    try {
      const written = [a, b, a, b].map((dir) => runScript('report.ts', [dir]).stdout);
      expect(written).toEqual([
        `reports/${name}.md\n`,
        `reports/${name}-2.md\n`,
        `reports/${name}.md\n`,
        `reports/${name}-2.md\n`,
      ]);
      expect(readFileSync(reports[0], 'utf8')).toContain(`| results folder | ${a} |`);
      expect(readFileSync(reports[1], 'utf8')).toContain(`| results folder | ${b} |`);
    } finally {
      for (const path of reports) rmSync(path, { force: true });
    }
  });
});

describe('7: a worker that sends a partial result', () => {
  const end = { code: 0, signal: null, timedOut: false, interrupted: false, stderr: '' };
  it('is a failed row naming the missing field, never an ok one', () => {
    const partial = { engine: 'topo', losses: [3.3] };
    expect(outcomeOf(trainKind, { ...end, reply: { type: 'result', result: partial } }, 5000, 42)).toEqual({
      status: 'failed',
      reason: expect.stringMatching(/^sent a malformed train result \(config: /),
      wallMs: 42,
    });
  });
  it('a wrong type inside it, likewise', () => {
    const run = readResultsFolder('test/fixtures/bench-results/complete').runs.find((r) => r.status === 'ok')!;
    const result = structuredClone((run as { result: { timingMs: { total: unknown } } }).result);
    result.timingMs.total = 'fast';
    expect(outcomeOf(trainKind, { ...end, reply: { type: 'result', result } }, 5000, 42)).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^sent a malformed train result \(timingMs\.total: /),
    });
  });
});
