/**
 * bench:history on a plugin repository the test builds: eight commits of one engine (tape with a pass
 * over an array per step), the sixth of which makes the pass about 2% of a step longer and the fourth
 * of which throws when loaded (the fifth fixes it); three only change the README, so their engines
 * bundle as their parent's do and take its counts. One bisect (run first: its probes are counted by
 * it), one walk of all eight, the same walk again (nothing to measure), and one commit measured again
 * with --rerun (timed: counts.test.ts has the A/A pair, and the walk compares counts of one engine
 * from different commits' exports) share the results: three count runs in all. The harness's own
 * repository is walked beside them, timed trials only (its counts work the same way and would add
 * three count runs to the test's cost).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { valgrindVersion } from '../scenarios/bench/counts/callgrind.ts';
import {
  expectInputError,
  rawResults,
  ROOT,
  shortDataset,
  SMALL_MODEL_FLAGS,
  startScript,
  tempDirs,
} from './helpers.ts';

const tmp = tempDirs();
/**
 * A tiny job: two counted steps of an 8-wide model (a count run is then mostly Node's start-up), on
 * a short dataset (shortDataset).
 */
const MODEL = [...['--steps', '2', ...SMALL_MODEL_FLAGS, '--samples', '0'], ...['--data', shortDataset(tmp('data'))]];
const JOB_ALL = ['--count-steps', '2', ...MODEL];
/**
 * The pass's elements per step: 3000 at first, 40000 from the sixth commit. On the tiny job the
 * engine's steps were about 68.5M estimated cycles each, and 17000 and 30000 more elements cost 0.93%
 * and 1.65% more (V8 compiles the pass in tiers, so the cost is not in proportion). On the short
 * dataset, with nothing loaded in the counted steps, they are 62.6M, and 37000 more cost 2.2%.
 */
const BASE_WORK = 3000;
const MORE_WORK = 40000;
const ENGINE = 'tape-plus';

/** The plugin module at one commit: a description of its own, the pass's size, and optionally a throw at load. */
function pluginSource(version: number, work: number, broken = false): string {
  return [
    `import { TapeEngine } from ${JSON.stringify(join(ROOT, 'engines/tape.ts'))};`,
    broken ? `throw new Error('half-finished refactor');` : '',
    `const WORK = ${work};`,
    `function pass(data: Float64Array, n: number): number {`,
    `  let sum = 0;`,
    `  for (let i = 0; i < n; i++) sum += data[i % data.length];`,
    `  return sum;`,
    `}`,
    `class TapePlus extends TapeEngine {`,
    `  private readonly extra = new Float64Array(1024).fill(1);`,
    `  sink = 0;`,
    `  override reset(): void {`,
    `    super.reset();`,
    `    this.sink += pass(this.extra, WORK);`,
    `  }`,
    `}`,
    `export const engines = [`,
    `  { name: '${ENGINE}', description: 'version ${version}', study: 'test', create: () => new TapePlus() },`,
    `];`,
    '',
  ].join('\n');
}

/**
 * The eight commits, oldest first: [subject, plugin source or null for a README-only commit]. The
 * plugin's code takes four forms (A, B with another description, broken, C with the longer pass); a
 * commit that leaves it as it was bundles byte for byte as before and is not counted again.
 */
const COMMITS: [string, string | null][] = [
  ['tape-plus: first version', pluginSource(0, BASE_WORK)],
  ['README: how to run it', null],
  ['tape-plus: describe it better', pluginSource(2, BASE_WORK)],
  ['tape-plus: half a refactor', pluginSource(2, BASE_WORK, true)],
  ['tape-plus: the refactor finished', pluginSource(2, BASE_WORK)],
  ['tape-plus: a longer pass per step', pluginSource(5, MORE_WORK)],
  ['README: a typo', null],
  ['README: another typo', null],
];

function makeRepo(dir: string): string[] {
  const git = (...args: string[]) => {
    const r = spawnSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      encoding: 'utf8',
      env: { ...process.env, GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z', GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z' },
    });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  };
  git('init', '-q', '-b', 'main');
  // A lockfile with no dependency, installed (npm ci) once for all eight commits; named after the
  // test's folder, so that its hash is new and this run installs it.
  const name = `plugin-${basename(dir).toLowerCase()}`;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({
      name,
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name, version: '1.0.0' } },
    }),
  );
  mkdirSync(join(dir, 'src'));
  return COMMITS.map(([subject, source], i) => {
    if (source === null) writeFileSync(join(dir, 'README.md'), `plugin, revision ${i}\n`);
    else writeFileSync(join(dir, 'src/engines.ts'), source);
    git('add', '-A');
    git('commit', '-q', '-m', subject);
    return git('rev-parse', 'HEAD');
  });
}

const skip = valgrindVersion() === null ? 'valgrind is not installed' : false;
if (skip) console.warn(`[skip] ${skip}: skipping the bench:history tests`);

type Result = { status: number | null; stdout: string; stderr: string };

describe.skipIf(skip)('bench:history', () => {
  const repo = tmp('history-repo');
  const out = join(tmp('history-out'), 'h');
  const ownOut = join(tmp('history-own'), 'h');
  let commits: string[] = [];
  const ends: Record<'bisect' | 'walk' | 'again' | 'rerun' | 'own', Result> = {} as never;
  const walkFiles: Record<string, string> = {};
  let beforeRerun: { runs: unknown[] } = { runs: [] };
  const pluginRepo = ['--repo', repo, '--module', 'src/engines.ts', '--out', out];
  const plugin = [...pluginRepo, ...JOB_ALL];
  // The walks name the engine the bisect measured: a walk of all engines would measure again a
  // commit measured for fewer (it may have others).
  const walk = [...plugin, '--engines', ENGINE];

  beforeAll(async () => {
    commits = makeRepo(repo);
    // The harness's own last three commits, beside the plugin's (a process each: two cores).
    const own = startScript('bench-history.ts', [
      '--commits',
      'HEAD~3..HEAD',
      // Main's own history holds merges: the first-parent line is exactly three commits.
      '--first-parent',
      '--engines',
      'tape',
      '--no-counts',
      '--trials',
      '1',
      '--out',
      ownOut,
      ...MODEL,
    ]).done.then((r) => (ends.own = r));
    const bisect = ['--bisect', '--good', 'HEAD~7', '--bad', 'HEAD', '--engine', ENGINE];
    ends.bisect = await startScript('bench-history.ts', [...plugin, ...bisect]).done;
    ends.walk = await startScript('bench-history.ts', [...walk, '--commits', 'HEAD']).done;
    // The walk's table, before the later runs write theirs over it.
    for (const file of ['history.csv', 'history.md', 'history.html'])
      walkFiles[file] = readFileSync(join(out, file), 'utf8');
    ends.again = await startScript('bench-history.ts', [...walk, '--commits', 'HEAD']).done;
    beforeRerun = rawResults(join(out, commits[7]));
    const timedRerun = ['--engines', ENGINE, '--no-counts', '--trials', '1', '--commits', 'HEAD~1..HEAD', '--rerun'];
    ends.rerun = await startScript('bench-history.ts', [...pluginRepo, ...MODEL, ...timedRerun]).done;
    await own;
    // A guard against a hang, not a verdict on speed: at a load average of 20-38 the bisect's three
    // count runs took about 8 minutes.
  }, 2_400_000);

  const csvRows = () => parse(walkFiles['history.csv'], { columns: true }) as Record<string, string>[];

  it('ends every run well', () => {
    for (const [name, end] of Object.entries(ends)) expect(end.status, `${name}: ${end.stderr}`).toBe(0);
  });

  it('--bisect names the commit that added 2% of work, after at most 5 commits, skipping the broken one', () => {
    const r = ends.bisect;
    console.log(r.stdout);
    expect(r.stdout).toMatch(
      new RegExp(
        `First commit slower than ${commits[0].slice(0, 10)} by more than 1% on ${ENGINE}: ` +
          `${commits[5].slice(0, 10)} tape-plus: a longer pass per step \\(\\+\\d\\.\\d\\d%`,
      ),
    );
    expect(r.stdout).toContain(`skipped ${commits[3].slice(0, 10)} tape-plus: half a refactor`);
    const looked =
      /(\d+) commits looked at of 8 \(at most ceil\(log2\(7\)\) \+ 2 = 5 without skips\): (\d+) measured/.exec(
        r.stdout,
      );
    expect(looked).not.toBeNull();
    expect(Number(looked![1])).toBeLessThanOrEqual(5);
    // Four of them measured (c0, c7, c4 counted, c3 broken); c5's engines are c7's, byte for byte.
    expect(Number(looked![2])).toBe(4);
    expect(r.stdout).toMatch(/1 the same engines as a commit measured/);
    // Its lockfile, the same at every commit, installed once.
    expect(r.stdout).toMatch(/, 1 dependency installs/);
  });

  it('the table flags the commit that added the work and only it; the broken commit is one failed row', () => {
    const rows = csvRows();
    console.log(ends.walk.stdout);
    expect(rows.map((r) => r.commit)).toEqual(commits);
    const failed = rows.filter((r) => r.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      commit: commits[3],
      reason: expect.stringMatching(/^does not load: .*half-finished refactor/),
    });
    const flagged = rows.filter((r) => r.flag !== '');
    expect(flagged.map((r) => r.commit)).toEqual([commits[5]]);
    expect(flagged[0].flag).toBe('slower');
    const change = Number(flagged[0].change);
    expect(change).toBeGreaterThan(0.01);
    expect(change).toBeLessThan(0.04);
    // Every other change is well under the threshold: the same engine (c2 another bundle than c0's).
    for (const r of rows.filter((x) => x.change !== '' && x.commit !== commits[5]))
      expect(Math.abs(Number(r.change))).toBeLessThan(0.002);
    expect(ends.walk.stdout).toMatch(/^Beyond ±1%:\n {2}\S+ tape-plus: \+\d\.\d\d% \(slower\)/m);
    // The bisect counted c0, c4 and c7 and found c3 broken; c5 has c7's engines. The walk took the
    // rest from them: c1 has c0's engines, c2 c4's, c6 c7's.
    expect(ends.walk.stdout).toMatch(
      /0 commits measured, 5 reused, 0 dependency installs, 3 the same engines as a commit measured/,
    );
    expect(ends.walk.stderr).toContain(`${commits[1].slice(0, 10)} same engines as ${commits[0].slice(0, 10)}`);
    const page = walkFiles['history.html'];
    expect(page).toMatch(/<figure id="history-chart"><svg/);
    expect(walkFiles['history.md']).toMatch(/\| failed: does not load/);
  });

  it('a second run measures nothing new; --rerun measures again, replacing the folder', () => {
    expect(ends.again.stdout).toMatch(/0 commits measured, 8 reused, 0 dependency installs, 0 the same/);
    expect(ends.rerun.stdout).toMatch(/1 commits measured, 0 reused/);
    const kinds = (runs: unknown[]) => (runs as { kind: string }[]).map((r) => r.kind).sort();
    expect(kinds(beforeRerun.runs)).toContain('counts');
    // Timed this time: one trial, and the counts of before are gone with the folder they were in.
    expect(kinds(rawResults(join(out, commits[7])).runs)).toEqual(['train']);
  });

  it("the harness's own repository: HEAD~3..HEAD of tape, each commit from a clean export", () => {
    console.log(ends.own.stdout);
    const rows = parse(readFileSync(join(ownOut, 'history.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r).toMatchObject({ engine: 'tape', status: 'ok' });
      expect(Number(r.time_ms)).toBeGreaterThan(0);
    }
    const head = spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    expect(rows[2].commit).toBe(head);
  });

  describe('bad input: one line, exit 2, nothing written', () => {
    const bad = (args: string[], message: RegExp) => {
      const dir = join(tmp('history-bad'), 'out');
      expectInputError('bench-history.ts', [...args, '--out', dir], message);
      expect(existsSync(dir)).toBe(false);
    };
    it('not a git repository', () =>
      bad(['--repo', tmp('not-git'), '--module', 'a.ts', '--commits', 'HEAD'], /not a git repository/));
    it('an unknown revision', () => bad(['--commits', 'no-such-rev..HEAD'], /--commits no-such-rev\.\.HEAD: /));
    it('an empty range', () => bad(['--commits', 'HEAD..HEAD'], /the range holds no commit/));
    it('--module at no commit', () =>
      bad(['--repo', repo, '--module', 'src/nope.ts', '--commits', 'HEAD'], /--module src\/nope\.ts is at no commit/));
    it('--bisect without --good or --bad', () =>
      bad(['--bisect', '--bad', 'HEAD', '--engine', 'tape'], /--bisect needs --good REV and --bad REV/));
  });
});
