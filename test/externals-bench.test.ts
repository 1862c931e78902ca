/**
 * External programs in bench:all: the project's own train CLI run as an outside program (so the
 * verdicts have a known answer), programs that print some steps, nothing, fail or hang, and the
 * one footing every row gets. Bad specs fail before any run.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobHash } from '../scenarios/bench/reference.ts';
import { hasGnuTime } from '../scenarios/bench/resource-meter.ts';
import { expectInputError, rawResults, ROOT, runScript, SMALL_MODEL_FLAGS, tempDirs } from './helpers.ts';
import { scriptCommandLine } from './compiled-scripts.ts';

const tmp = tempDirs();
/** A small model, so that topo (the reference) and the gradient check take a few seconds. */
const JOB = ['--steps', '6', ...SMALL_MODEL_FLAGS, '--samples', '3'];
const JOB_PLACEHOLDERS =
  '--steps {steps} --seed {seed} --n-embd {n-embd} --n-head {n-head} --block-size {block-size} ' +
  '--samples {samples} --data {data}';
const trainCli = (engine: string, logEvery: number) =>
  `${scriptCommandLine('train.ts')} --engine ${engine} --log-every ${logEvery} ${JOB_PLACEHOLDERS}`;
/**
 * Past it `hangs` is killed (the bench waits that long for it); each other program's whole run takes
 * about a second quiet and 2 s at load 12 (a 10-fold margin there).
 */
const TIMEOUT_SECONDS = 20;

const EXTERNALS = [
  `own-tensor=${trainCli('tensor', 1)}`,
  `own-stack=${trainCli('stack', 1)}`,
  `every-3rd=${trainCli('tensor', 3)}`,
  'silent=true',
  `exits-3=sh -c 'echo broken >&2; exit 3'`,
  'hangs=sleep 120',
];

describe('bench:all with external programs beside an engine', () => {
  const out = join(tmp('run'), 'results');
  const report = join(tmp('report'), 'report.md');
  let r: ReturnType<typeof runScript>;
  beforeAll(() => {
    const externals = EXTERNALS.flatMap((e) => ['--external', e]);
    const timeout = ['--timeout', String(TIMEOUT_SECONDS), '--trials', '1'];
    r = runScript('bench-all.ts', [
      '--engines',
      'topo',
      ...timeout,
      ...JOB,
      ...externals,
      '--out',
      out,
      '--report',
      report,
      '--no-page',
    ]);
  });
  const external = (name: string) => rawResults(out).runs.find((x) => x.kind === 'external' && x.engine === name);
  const summaryRow = (name: string) =>
    (parse(readFileSync(join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[]).find(
      (row) => row.engine === name,
    )!;

  it('runs them and reports each with its verdict', () => {
    expect(r.status, r.stderr).toBe(0);
    expect(summaryRow('own-tensor').loss_verdict).toBe(
      "reproduces the reference (6/6 printed steps equal to 4 decimals, samples identical; against topo's trial 1)",
    );
    expect(summaryRow('own-stack').loss_verdict).toMatch(
      /^differs from step 2 \(printed \d\.\d{4}, reference \d\.\d{4}; against topo's trial 1\)$/,
    );
    expect(summaryRow('every-3rd').loss_verdict).toBe(
      "reproduces the reference (2/2 printed steps equal to 4 decimals, samples identical; against topo's trial 1)",
    );
    expect(summaryRow('silent').loss_verdict).toBe('no loss lines found');
    expect(r.stdout).toMatch(/^ {2}own-stack +[\d.]+ m?s wall {2}losses: differs from step 2 /m);
    expect(r.stdout).toMatch(/^own-tensor ran [\d.]+x (faster|slower) than topo in wall time/m);
    expect(r.stdout).toMatch(
      /^own-stack ran [\d.]+x (faster|slower) than topo in wall time .*\(differs from step 2\)$/m,
    );
  });

  it('a program that prints only some steps is compared on those', () => {
    expect(external('every-3rd').result.losses.map((l: { step: number }) => l.step)).toEqual([3, 6]);
  });

  it('a program that exits 3, or hangs past --timeout, costs one failed row', () => {
    expect(external('exits-3')).toMatchObject({ status: 'failed', reason: 'exited with code 3: broken' });
    expect(external('hangs')).toMatchObject({ status: 'failed', reason: `timed out after ${TIMEOUT_SECONDS} s` });
    const runs = rawResults(out).runs.filter((x) => ['exits-3', 'hangs'].includes(x.engine));
    expect(runs).toHaveLength(2);
    expect(summaryRow('hangs')).toMatchObject({
      kind: 'external',
      status: `failed: timed out after ${TIMEOUT_SECONDS} s`,
    });
  });

  it('gives an external no gradient verdict: its column says what was checked', () => {
    expect(summaryRow('own-tensor')).toMatchObject({ gradient_verdict: '', gradcheck_pass: '' });
    expect(summaryRow('topo')).toMatchObject({ kind: 'engine', gradient_verdict: 'pass', loss_verdict: '' });
    const md = readFileSync(report, 'utf8');
    expect(md).toContain('### External programs');
    expect(md).toMatch(
      /\| own-tensor \| `node .*train\.(ts|mjs) --engine tensor .*` \| .* \| reproduces the reference/,
    );
  });

  it('passes the embedded dataset as a file, the bytes the job’s sha256 is of', () => {
    const { env } = rawResults(out);
    const text = readFileSync(join(out, 'dataset.txt'), 'utf8');
    expect(text.split('\n')).toHaveLength(env.dataset.docs + 1);
    expect(external('own-tensor').result.command).toContain(join(out, 'dataset.txt'));
  });

  it.skipIf(!hasGnuTime())('measures every row on one footing: wall, CPU, peak RSS; engines’ start-up apart', () => {
    const { runs } = rawResults(out);
    for (const run of runs.filter((x) => x.status === 'ok')) {
      expect(run.wallMs, run.engine).toBeGreaterThan(0);
      expect(run.userMs + run.systemMs, run.engine).toBeGreaterThanOrEqual(0);
      expect(run.maxRssBytes, run.engine).toBeGreaterThan(500_000);
    }
    const topo = runs.find((x) => x.kind === 'train');
    expect(topo.startupMs).toBeGreaterThan(0);
    expect(topo.startupMs).toBeLessThan(topo.wallMs);
    // A Node program's CPU time and RSS are real figures, not zeros: node alone takes tens of MB.
    expect(external('own-tensor').maxRssBytes).toBeGreaterThan(20 * 2 ** 20);
    expect(external('own-tensor').userMs).toBeGreaterThan(0);
    expect(external('own-tensor').startupMs).toBeNull();
  });
});

describe('bad external programs, before any run', () => {
  const out = join(tmp('bad'), 'never');
  const bad = (args: string[], message: RegExp) => {
    expectInputError('bench-all.ts', ['--engines', 'topo', ...args, '--out', out], message);
    expect(existsSync(out)).toBe(false);
  };
  const config = (json: string) => {
    const path = join(tmp('config'), 'externals.json');
    writeFileSync(path, json);
    return path;
  };

  it('--external without =', () =>
    bad(['--external', 'python3 microgpt.py'], /^error: --external python3 microgpt\.py: expected NAME=COMMAND/));
  it('an empty command', () => bad(['--external', 'py='], /^error: --external py=: empty command$/));
  it('a shell operator', () =>
    bad(['--external', 'p=a | b'], /^error: --external p=a \| b: '\|' needs a shell; use sh -c/));
  it('an unknown placeholder', () =>
    bad(
      ['--external', 'p=prog {step}'],
      /^error: --external p=prog \{step\}: unknown placeholder \{step\} \(write \{\{step\}\}/,
    ));
  it('a name an engine has', () =>
    bad(['--external', 'topo=true'], /^error: external 'topo': an engine has that name/));
  it('a config file that is not JSON', () => {
    const path = config('{ externals: [');
    bad(['--config', path], new RegExp(`^error: --config ${path}: not valid JSON$`));
  });
  it('a config file with an unknown key', () => {
    const path = config('{ "externals": [{ "name": "p", "comand": ["x"], "command": ["x"] }] }');
    bad(['--config', path], /^error: --config .*: externals\.0: Unrecognized key: "comand"$/);
  });
  it('a config file whose pattern lacks its named groups', () => {
    const path = config('{ "externals": [{ "name": "p", "command": ["x"], "lossPattern": "loss (\\\\S+)" }] }');
    bad(
      ['--config', path],
      /^error: --config .*: externals\[0\]: lossPattern needs the named group \(\?<step>…\) and \(\?<loss>…\)$/,
    );
  });
});

describe('bench:all with no topo: the reference is at hand all the same', () => {
  const out = join(tmp('no-topo'), 'results');
  const cache = join(ROOT, 'results', '.reference');
  let r: ReturnType<typeof runScript>;
  beforeAll(() => {
    const externals = [`self=${trainCli('tensor', 1)}`, `own-stack=${trainCli('stack', 1)}`];
    const args = ['--engines', 'tensor', '--trials', '1', ...JOB, ...externals.flatMap((e) => ['--external', e])];
    r = runScript('bench-all.ts', [...args, '--out', out, '--report', join(out, 'report.md'), '--no-page']);
  });
  const verdict = (name: string) =>
    (parse(readFileSync(join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[]).find(
      (row) => row.engine === name,
    )!.loss_verdict;

  it('--engines tensor: a right program reproduces the reference, a wrong one differs from step 2, no topo run', () => {
    expect(r.status, r.stderr).toBe(0);
    expect(rawResults(out).runs.map((x) => x.engine)).not.toContain('topo');
    expect(verdict('self')).toBe(
      'reproduces the reference (6/6 printed steps equal to 4 decimals, samples identical; ' +
        "against tensor, topo's stand-in)",
    );
    expect(verdict('own-stack')).toMatch(
      /^differs from step 2 \(printed \d\.\d{4}, reference \d\.\d{4}; against tensor/,
    );
  });

  it("keeps the job's reference in the folder, and in the cache under the job's hash", () => {
    const { env } = rawResults(out);
    const kept = JSON.parse(readFileSync(join(out, 'reference.json'), 'utf8'));
    expect(kept).toMatchObject({ job: jobHash(env.dataset.sha256, env.config), engine: 'tensor', config: env.config });
    expect(kept.losses).toHaveLength(6);
    expect(kept.samples).toHaveLength(3);
    expect(JSON.parse(readFileSync(join(cache, `${kept.job}.json`), 'utf8'))).toEqual(kept);
  });
});
