/**
 * The fault model of bench:all and bench:micro where processes are killed, hang or outlive their
 * work: each test reproduces one defect found by trying the commands as a hostile user would, and
 * asserts the fixed behaviour (the rest are in faults.test.ts). Most of each test is a wait (for a
 * worker to start, a signal to land, a limit to pass), so they run concurrently: every test has
 * folders of its own and finds its processes by their parent's pid.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ROOT, runScriptAsync, runsOf, SMALL_MODEL_FLAGS, startScript, tempDirs } from './helpers.ts';
import { compiledFixture } from './compiled-scripts.ts';

const FAULTY = { MICROGPT_BENCH_ENGINES: compiledFixture('faulty-engines') };
const tmp = tempDirs()('faults-processes');
/** The small model (SMALL_MODEL_FLAGS): the faulty engines are topo's, and bench:all checks their gradients. */
const TINY_JOB = ['--steps', '4', '--samples', '0', ...SMALL_MODEL_FLAGS];

/**
 * The pids of `pid`'s child processes: each of its threads' `children` list in /proc. The tests poll
 * this every 100 ms; reading every process's /proc/<pid>/stat instead took 4.6 s of the test
 * process's CPU in a suite (a few hundred processes, read twice per poll). A list read while a child
 * starts may miss it, which the next poll sees.
 */
function childrenOf(pid: number): number[] {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return threads.flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

/** Whether process `pid` still runs (a zombie waiting to be reaped has stopped running). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * The bench's worker process, once there is one: the Node process running scenarios/bench/worker.ts
 * or its compiled worker.mjs, its child, or its grandchild under GNU time.
 */
async function workerOf(pid: number): Promise<number> {
  for (let i = 0; i < 300; i++) {
    const worker = [...childrenOf(pid), ...childrenOf(pid).flatMap(childrenOf)].find((c) => {
      try {
        const argv = readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0');
        return argv[0] === process.execPath && argv.some((arg) => /worker\.m?[jt]s$/.test(arg));
      } catch {
        return false;
      }
    });
    if (worker !== undefined) return worker;
    await sleep(100);
  }
  throw new Error(`no worker process under ${pid}`);
}

describe.concurrent('1: two benches into one folder', () => {
  it('exactly one proceeds, the other exits 2 with one line, and the folder holds one job only', async () => {
    const out = join(tmp, 'shared-out');
    const bench = (seed: string) =>
      startScript('bench-all.ts', [
        ...['--engines', 'tensor', '--trials', '1', ...TINY_JOB, '--seed', seed],
        ...['--out', out, '--report', join(tmp, `shared-${seed}.md`), '--no-page'],
      ]);
    const [a, b] = await Promise.all([bench('1').done, bench('2').done]);
    expect([a.status, b.status].sort()).toEqual([0, 2]);
    const loser = a.status === 2 ? a : b;
    expect(loser.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^error: --out .*shared-out: (another bench is writing to it|is not empty;.*)$/),
    ]);
    const env = JSON.parse(readFileSync(join(out, 'env.json'), 'utf8'));
    const runs = runsOf(out);
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs.filter((x) => x.kind === 'train')) expect(run.result.seed).toBe(env.seed);
  });
});

describe.concurrent('2: a worker killed by SIGINT', () => {
  it('sent from outside mid-run: a failed row; the bench completes with its CSVs and report, exit 0', async () => {
    const out = join(tmp, 'sigint-outside');
    const report = join(tmp, 'sigint-outside.md');
    // The SIGINT comes 1.5 s after the worker starts, well inside the limit; the limit then ends the
    // hanging engine's gradient check.
    const args = ['--engines', 'hangs-at-3,tensor', '--trials', '1', '--timeout', '15', ...TINY_JOB];
    const bench = startScript('bench-all.ts', [...args, '--out', out, '--report', report, '--no-page'], FAULTY);
    const worker = await workerOf(bench.child.pid!);
    await sleep(1500);
    process.kill(worker, 'SIGINT');
    const r = await bench.done;
    expect(r.status, r.stderr).toBe(0);
    expect(runsOf(out).find((x) => x.kind === 'train' && x.engine === 'hangs-at-3')).toMatchObject({
      status: 'failed',
      reason: 'killed by SIGINT',
    });
    expect(runsOf(out).find((x) => x.kind === 'train' && x.engine === 'tensor')?.status).toBe('ok');
    for (const file of ['runs.csv', 'summary.csv']) expect(existsSync(join(out, file)), file).toBe(true);
    expect(existsSync(report)).toBe(true);
  });

  it('raised by the engine on itself: a failed row each for training and the check, exit 0', async () => {
    const out = join(tmp, 'sigint-self');
    const r = await runScriptAsync(
      'bench-all.ts',
      [
        ...['--engines', 'sigint-at-3', '--trials', '2', ...TINY_JOB],
        '--out',
        out,
        '--report',
        join(tmp, 'self.md'),
        '--no-page',
      ],
      { env: FAULTY },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(runsOf(out).map((x) => `${x.kind} ${x.status} ${x.reason}`)).toEqual([
      'train failed killed by SIGINT',
      'gradcheck failed killed by SIGINT',
    ]);
  });
});

describe.concurrent('3: bench:all killed with -9', () => {
  it('leaves no worker behind, even one spinning in a loop', async () => {
    const out = join(tmp, 'kill-9');
    const bench = startScript('bench-all.ts', ['--engines', 'spins-at-3', ...TINY_JOB, '--out', out], FAULTY);
    const worker = await workerOf(bench.child.pid!);
    await sleep(1500);
    expect(running(worker)).toBe(true);
    bench.child.kill('SIGKILL');
    await bench.done;
    for (let i = 0; i < 100 && running(worker); i++) await sleep(100);
    expect(running(worker)).toBe(false);
  });
});

describe.concurrent('4: SIGTERM to the npm process', () => {
  it('stops the bench and its worker too, keeping the finished runs', async () => {
    const out = join(tmp, 'npm-sigterm');
    const npm = spawn('npm', ['run', '-s', 'bench:all', '--', '--engines', 'hangs-at-3', ...TINY_JOB, '--out', out], {
      cwd: ROOT,
      env: { ...process.env, ...FAULTY },
      stdio: 'ignore',
    });
    const closed = new Promise((resolve) => npm.on('close', resolve));
    let bench: number | undefined;
    for (let i = 0; i < 300 && bench === undefined; i++) {
      bench = childrenOf(npm.pid!).find((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('bench-all.ts'));
      if (bench === undefined) await sleep(100);
    }
    const worker = await workerOf(bench!);
    npm.kill('SIGTERM');
    await closed;
    for (let i = 0; i < 100 && (running(bench!) || running(worker)); i++) await sleep(100);
    expect(running(bench!)).toBe(false);
    expect(running(worker)).toBe(false);
    expect(existsSync(join(out, 'env.json'))).toBe(true);
  });
});

describe.concurrent('5 and 6, 13: late failures and lingering timers', () => {
  it('a report folder that turns into a file during the bench: one line, exit 1, every run kept', async () => {
    const out = join(tmp, 'late-failure');
    const reportDir = join(tmp, 'late-reports');
    const args = ['--engines', 'hangs-at-3', '--trials', '1', '--timeout', '4', ...TINY_JOB];
    const bench = startScript('bench-all.ts', [...args, '--out', out, '--report', join(reportDir, 'r.md')], FAULTY);
    await workerOf(bench.child.pid!);
    rmSync(reportDir, { recursive: true });
    writeFileSync(reportDir, 'not a folder any more\n');
    const r = await bench.done;
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n').pop()).toMatch(
      /^error: writing the CSVs and reports failed \(ENOTDIR\); every run is kept in .*runs\.jsonl, and `npm run report -- .* --format md,csv,html` writes them again$/,
    );
    expect(runsOf(out).map((x) => `${x.kind} ${x.status}`)).toEqual(['train failed', 'gradcheck failed']);
  });

  it('an engine that finished but left a timer running is recorded as ok, not as timed out', async () => {
    const out = join(tmp, 'timer');
    const args = ['--engines', 'leaves-timer', '--trials', '1', '--timeout', '30', ...TINY_JOB, '--out', out];
    const r = await runScriptAsync('bench-all.ts', [...args, '--report', join(tmp, 'timer.md'), '--no-page'], {
      env: FAULTY,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(runsOf(out).map((x) => `${x.kind} ${x.status}`)).toEqual(['train ok', 'gradcheck ok']);
    expect(runsOf(out)[0].wallMs).toBeLessThan(20_000);
  });
});

describe.concurrent('5: bench:micro whose output folder is gone when it ends', () => {
  it('prints the table first, then fails in one line saying the table is what was measured', async () => {
    const reports = join(tmp, 'micro-reports');
    const args = ['--engines', 'hangs-at-3', '--operations', 'softmax 27', '--time', '20', '--timeout', '4'];
    const bench = startScript(
      'bench-micro.ts',
      [...args, '--reports-dir', reports, '--results-dir', join(tmp, 'micro')],
      FAULTY,
    );
    // bench:micro names each measurement as it starts it, once its folders are made and checked
    // (replaced while it checks them, the folder is bad input: exit 2); this one hangs for --timeout.
    let said = '';
    bench.child.stderr.on('data', (chunk) => (said += chunk));
    while (!said.includes('softmax 27 on hangs-at-3')) await sleep(50);
    rmSync(reports, { recursive: true });
    writeFileSync(reports, 'not a folder any more\n');
    const r = await bench.done;
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^# Micro-benchmarks: build \+ backward of one operation\n/);
    expect(r.stdout).toContain('| softmax 27 | hangs-at-3 |');
    expect(r.stderr.trimEnd().split('\n').pop()).toMatch(
      /^error: writing the table failed \(ENOTDIR\); the measurements are the table above$/,
    );
  });
});
