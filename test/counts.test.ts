/**
 * bench:all --counts and compare on counts, with valgrind for real, three benches of a plugin engine
 * (tape-padded) at once: BASE; SAME, BASE's command again (the A/A pair); NEXT, a longer pass over a
 * small array per step (about 1% more work, in one function) and a heavier start-up. External
 * programs are counted beside BASE (and SAME). Each count records its functions too, checked here on
 * these runs (the mapping itself on fixtures in function-counts.test.ts). The plugin is bundled to
 * JavaScript first, so its runs start from the compiled worker as the built-in engines' do (under tsx,
 * whose loader thread also runs, counts were 3e-4 apart and a count run took 2.4 times as long).
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { valgrindVersion } from '../scenarios/bench/counts/callgrind.ts';
import { rawResults, ROOT, runScript, shortDataset, SMALL_MODEL_FLAGS, startScript, tempDirs } from './helpers.ts';
import { bundlePlugin } from './compiled-scripts.ts';

const tmp = tempDirs();
const PLUGIN_SOURCE = join(ROOT, 'test/fixtures/counted-engines.ts');
/**
 * The count job: 5 steps of a model half microgpt.py's width and context (n_embd 8, block 8), on a
 * short dataset (shortDataset). What is measured is the count machinery, which is the same for any
 * model, and a smaller one is cheaper (this file took 78 s of CPU run alone, against 110 s on the
 * default model; the gradient checks 0.8 s each against 3.8 s). A bench of one trial and a count run
 * of tape-padded took 18.5 s of CPU at 5 counted steps against 20.7 s at 20 (medians of three,
 * alternated): the count run's start-up under callgrind is most of it. The counts' spread does not
 * grow with fewer steps (two counts of these 5 steps were 3.5e-8 apart; 7e-9 at 20).
 */
const STEPS = 5;
const JOB = [
  ...['--steps', `${STEPS}`, '--count-steps', `${STEPS}`, '--samples', '2'],
  ...SMALL_MODEL_FLAGS,
  ...['--data', shortDataset(tmp('data'))],
];
/**
 * Elements of the extra pass per step: about 1% of tape-padded's estimated cycles per step on JOB
 * (checked below). The pass is optimized before the steps on both sides (counted-engines.ts), so
 * its cost is its loop's, about 37 estimated cycles an element: 5400 elements cost 0.42% of these
 * 5 steps' (whose first steps are mostly V8 compiling), so 13000 here (ratios of 1.0091 to 1.0099
 * in seventeen suites).
 */
const EXTRA_WORK = '13000';
/**
 * Elements of the extra start-up pass: about 32 instructions each, some 64M in all, ten thousand
 * times the whole process's A/A spread (about 7,000 instructions).
 */
const EXTRA_STARTUP = 2e6;
/**
 * The system's Python, not the first on PATH: pyenv's `python3` is a shell script that runs pyenv
 * first, 232M instructions and 28 s under callgrind against 1 s for Python itself. Without its site
 * module (-S), which the script does not need: 27M instructions and 3.5 s under callgrind against 39M
 * and 4.6 s, and it is counted twice.
 */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const EXTERNALS = [
  ['--external', `py=${PYTHON} -S -c 'print(sum(range(50000)))'`],
  ['--external', `shloop=sh -c 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done'`],
  ['--external', `killed=sh -c 'kill -9 $$'`],
].flat();

const skip = valgrindVersion() === null ? 'valgrind is not installed' : false;
if (skip) console.warn(`[skip] ${skip}: skipping the count tests`);

describe.skipIf(skip)('bench:all --counts', () => {
  const dirs = {
    base: join(tmp('base'), 'r'),
    same: join(tmp('same'), 'r'),
    next: join(tmp('next'), 'r'),
  };
  const ends: Record<string, { status: number | null; stderr: string }> = {};
  beforeAll(async () => {
    const plugin = await bundlePlugin(PLUGIN_SOURCE, join(tmp('plugin'), 'counted-engines.mjs'));
    /** BASE and NEXT time three trials each for the test on time alone; SAME needs only its counts. */
    const bench = (key: keyof typeof dirs, trials: number, env: NodeJS.ProcessEnv = {}, extra: string[] = []) => {
      const args = ['--engines', 'tape-padded', '--trials', `${trials}`, '--counts', ...JOB, ...extra];
      const out = ['--out', dirs[key], '--report', `${dirs[key]}.md`];
      const run = startScript('bench-all.ts', [...args, ...out], { MICROGPT_BENCH_ENGINES: plugin, ...env });
      return run.done.then((r) => (ends[key] = r));
    };
    await Promise.all([
      bench('base', 3, {}, EXTERNALS),
      // BASE's command again (without the page, drawn after the count pass and read from BASE's
      // alone): two benches whose count runs start at different moments beside different work
      // agreed to 4e-5 and 1.8e-4 (BASE's own count was the same in both).
      bench('same', 1, {}, [...EXTERNALS, '--no-page']),
      // NEXT also starts up heavier: the start-up test looks for that work outside its steps.
      bench('next', 3, { MGB_EXTRA_WORK: EXTRA_WORK, MGB_EXTRA_STARTUP: `${EXTRA_STARTUP}` }, ['--no-page']),
    ]);
  }, 900_000);

  const counted = (dir: string, engine = 'tape-padded') => {
    const run = rawResults(dir).runs.find((r) => r.kind.endsWith('counts') && r.engine === engine);
    expect(run, `${engine}'s count run in ${dir}`).toBeDefined();
    return run;
  };
  const relDiff = (a: number, b: number) => Math.abs(a - b) / a;

  it('finishes each bench', () => {
    for (const [key, end] of Object.entries(ends)) expect(end.status, `${key}: ${end.stderr}`).toBe(0);
  });

  it("a count run's record keeps what the program printed, and V8's log is not in it", () => {
    // The perf map turns on V8's log; sent to /dev/null, it came out on the worker's stdout, some 50
    // lines of `new,MemoryChunk,…` in every count run's printed output. tape-padded prints nothing.
    for (const dir of Object.values(dirs)) {
      const run = counted(dir);
      expect(run.output ?? '', dir).not.toMatch(/^(new|delete),|^heap-(capacity|available),/m);
      expect(run.output, dir).toBeUndefined();
    }
  });

  const apart = (x: number) => x.toExponential(1);

  /**
   * Most pairs agree within 1e-4 (1e-8 to 3.6e-5 seen), but one count of ten (five pairs of identical
   * benches) came 8.3e-4 below the others (V8 swept more pages in the others' steps: RawSweep took 336K
   * of their 496K more instructions), so two counts may be that far apart; a 1% change is 12 times more.
   */
  const AA_SPREAD = 2e-3;

  it('A/A: two count runs of one engine and job agree within 0.2%', () => {
    const [a, b] = [counted(dirs.base), counted(dirs.same)].map((r) => r.counts);
    const instructions = relDiff(a.training.instructions, b.training.instructions);
    const cycles = relDiff(a.training.estimatedCycles, b.training.estimatedCycles);
    console.log(
      `A/A: training instructions ${a.training.instructions} vs ${b.training.instructions} (${apart(instructions)}` +
        ` apart), estimated cycles ${apart(cycles)} apart; whole ${a.whole.instructions} vs ${b.whole.instructions}`,
    );
    expect(instructions).toBeLessThan(AA_SPREAD);
    expect(cycles).toBeLessThan(AA_SPREAD);
    expect(relDiff(a.whole.instructions, b.whole.instructions)).toBeLessThan(AA_SPREAD);
  });

  it('start-up is counted in the whole process, not in the training steps', () => {
    const [a, b] = [counted(dirs.base), counted(dirs.next)].map((r) => r.counts);
    // NEXT's whole process over BASE's, less what its steps added: its heavier start-up.
    const added = b.whole.instructions - a.whole.instructions - (b.training.instructions - a.training.instructions);
    const startupInSteps = b.functions.functions.filter((f: { name: string }) => f.name.startsWith('startupPass'));
    const passInSteps = b.functions.functions.filter((f: { name: string }) => f.name.startsWith('pass '));
    console.log(
      `start-up heavier by ${added} instructions outside the steps; among the steps' functions: ` +
        `startupPass ${startupInSteps.length}, pass ${passInSteps.length}`,
    );
    // 2e6 elements summed: at least 2e6 instructions more, all of them before the first step (with
    // the first mark moved before the engine is made, this was -5,020: the pass counted in the steps).
    // Nor is the start-up pass's function among the steps' (the steps' own pass, its loop under
    // another name, is).
    expect(added).toBeGreaterThan(EXTRA_STARTUP);
    expect(startupInSteps).toEqual([]);
    expect(passInSteps).toHaveLength(1);
  });

  const compare = (base: string, next: string, ...flags: string[]) =>
    runScript('compare.ts', [base, next, '--format', 'json', '--output', join(tmp('cmp'), 'c.json'), ...flags]);
  const engineChange = (r: ReturnType<typeof compare>) => {
    const path = r.stdout.trim().split('\n').at(-1)!;
    return JSON.parse(readFileSync(path, 'utf8')).engines[0];
  };

  it('compare on counts: the identical engine is no change', () => {
    const r = compare(dirs.base, dirs.same, '--threshold', '0.1', '--fail-on-regression');
    expect(r.status, r.stderr).toBe(0);
    expect(engineChange(r).counts.verdict).toBe('no change');
    expect(r.stdout).toMatch(/Counts decide for tape-padded, py, shloop; time decides for killed:/);
  });

  it('compare on counts: 1% more work per step is slower, and --fail-on-regression exits 1', () => {
    const r = compare(dirs.base, dirs.next, '--threshold', '0.5', '--fail-on-regression');
    const change = engineChange(r);
    console.log(`1% more work: estimated cycles ratio ${change.counts.ratio}`);
    expect(change.counts.ratio).toBeGreaterThan(1.005);
    expect(change.counts.ratio).toBeLessThan(1.02);
    expect(change.counts.verdict).toBe('slower');
    expect(change.regression).toBe(true);
    expect(r.status).toBe(1);
  });

  /** The training part's functions: every function, and unattributed among them, sums to the counted total. */
  it('per function: the training steps’ functions sum to the counted total, unattributed under 2%', () => {
    for (const dir of [dirs.base, dirs.same, dirs.next]) {
      const { training, functions } = counted(dir).counts;
      const sum = (key: 'instructions' | 'estimatedCycles') =>
        functions.functions.reduce((s: number, f: Record<string, number>) => s + f[key], 0);
      const unattributed = functions.unattributed.instructions / training.instructions;
      console.log(
        `per function: ${functions.functions.length} rows, unattributed ${apart(unattributed)}, contested ` +
          `${apart(functions.contested.instructions / training.instructions)}; top: ` +
          functions.functions
            .slice(0, 5)
            .map(
              (f: { name: string; instructions: number }) =>
                `${f.name} ${apart(f.instructions / training.instructions)}`,
            )
            .join(', '),
      );
      expect(functions.total.instructions).toBe(training.instructions);
      expect(sum('instructions')).toBe(training.instructions);
      expect(relDiff(training.estimatedCycles, sum('estimatedCycles'))).toBeLessThan(1e-9);
      expect(unattributed).toBeLessThan(0.02);
    }
  });

  it('A/A per function: no function of the identical engine moves beyond 0.1% of its total', () => {
    const r = compare(dirs.base, dirs.same, '--threshold', '0.5');
    const { functions } = engineChange(r).counts;
    console.log(
      'A/A per function: ' +
        functions.top.map((f: { name: string; ofTotal: number }) => `${f.name} ${apart(f.ofTotal)}`).join(', '),
    );
    for (const f of functions.top) expect(Math.abs(f.ofTotal), f.name).toBeLessThan(1e-3);
  });

  it('compare per function: the function doing the extra work comes first, with most of the change', () => {
    const out = join(tmp('cmp-functions'), 'c.md');
    const r = runScript('compare.ts', [
      dirs.base,
      dirs.next,
      '--threshold',
      '0.5',
      '--format',
      'md,json,html',
      '--output',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const { functions, ratio } = JSON.parse(readFileSync(out.replace(/md$/, 'json'), 'utf8')).engines[0].counts;
    console.log(
      `1% more work per function (ratio ${ratio}): ` +
        functions.top
          .map(
            (f: { name: string; ofChange: number; ofTotal: number }) =>
              `${f.name} ${f.ofChange.toFixed(3)} ${apart(f.ofTotal)}`,
          )
          .join(', '),
    );
    const sum = functions.top.reduce((s: number, f: { change: number }) => s + f.change, functions.rest.change);
    expect(relDiff(functions.change, sum)).toBeLessThan(1e-9);
    expect(functions.top[0].name).toBe('pass (counted-engines.mjs)');
    expect(Math.abs(functions.top[0].ofChange - 1)).toBeLessThan(0.1);
    expect(readFileSync(out, 'utf8')).toMatch(
      /## tape-padded: where the change went \(slower[^\n]*\n\n.*\n.*\n\| pass \(counted-engines\.mjs\) \| JavaScript \|/,
    );
    const page = readFileSync(out.replace(/md$/, 'html'), 'utf8');
    for (const id of ['function-diff-0', 'function-icicle-base-0', 'function-icicle-new-0']) {
      expect(page).toMatch(new RegExp(`<figure id="${id}"><svg`));
    }
  });

  it('the same pair on time alone, 3 trials each, is not slower', () => {
    const timeOnly = (dir: string) => {
      const copy = join(tmp('time-only'), 'r');
      cpSync(dir, copy, { recursive: true });
      const { runs, env } = rawResults(copy);
      env.bench.counts = null;
      writeFileSync(join(copy, 'env.json'), JSON.stringify(env));
      const timed = runs.filter((r) => !r.kind.endsWith('counts'));
      writeFileSync(join(copy, 'runs.jsonl'), timed.map((r) => JSON.stringify(r) + '\n').join(''));
      return copy;
    };
    const r = compare(timeOnly(dirs.base), timeOnly(dirs.next), '--threshold', '0.5', '--fail-on-regression');
    const change = engineChange(r);
    expect(change.counts).toBeNull();
    expect(change.verdict).not.toBe('slower');
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/Time decides every verdict/);
  });

  it('counts external programs: a Python script and a /bin/sh loop; one killed under valgrind costs one row', () => {
    for (const name of ['py', 'shloop']) {
      const run = counted(dirs.base, name);
      expect(run.status).toBe('ok');
      expect(run.counts.training).toBeNull();
      expect(run.counts.whole.instructions).toBeGreaterThan(1e5);
      expect(run.counts.whole.estimatedCycles).toBeGreaterThan(run.counts.whole.instructions);
    }
    // The shell loop counts its 3000 rounds: more than the bare shell, which exits at once.
    expect(counted(dirs.base, 'shloop').counts.whole.instructions).toBeGreaterThan(1e6);
    const killed = rawResults(dirs.base).runs.filter((r) => r.kind === 'external-counts' && r.engine === 'killed');
    expect(killed).toHaveLength(1);
    expect(killed[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/SIGKILL/) });
    expect(counted(dirs.base).status).toBe('ok');
  });

  it('writes counts.csv and the report’s counts table', () => {
    const rows = parse(readFileSync(join(dirs.base, 'counts.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(rows.map((r) => r.name)).toEqual(['tape-padded', 'py', 'shloop', 'killed']);
    const tape = rows[0];
    const run = counted(dirs.base).counts;
    expect(Number(tape.training_instructions)).toBe(run.training.instructions);
    expect(Number(tape.instructions_per_step)).toBe(run.training.instructions / STEPS);
    expect(rows[3].status).toBe('failed');
    const report = readFileSync(`${dirs.base}.md`, 'utf8');
    expect(report).toMatch(/## Instruction counts/);
    expect(report).toMatch(new RegExp(`\\| tape-padded \\| engine \\| ${STEPS} \\| [\\d,]+ \\| [\\d,]+ \\|`));
    expect(readFileSync(`${dirs.base}.html`, 'utf8')).toMatch(/<figure id="counts-chart"><svg/);
  });
});
