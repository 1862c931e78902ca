/**
 * --timeout holds whatever an external program does: descendants left behind (in its process group
 * or in a session of their own, holding its output pipes or not), patterns that backtrack without
 * end, output without line ends. Each run here is a few shell lines, so the file stays cheap.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { externalExecutor } from '../scenarios/bench/external/executor.ts';
import { emptyOutput, MAX_LINE_CHARS, OutputReader } from '../scenarios/bench/external/output.ts';
import { externalFlag, type ExternalSpec } from '../scenarios/bench/external/spec.ts';
import type { ExternalResult } from '../scenarios/bench/kinds/external.ts';
import { externalKind } from '../scenarios/bench/kinds/index.ts';
import { namesShortened } from '../scenarios/output/progress.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';

/** Runs one shell script as an external program, with `timeoutSeconds` as its --timeout. */
async function runScript(script: string, timeoutSeconds: number, spec: Partial<ExternalSpec> = {}) {
  const program = { ...externalFlag('prog=true'), command: ['/bin/sh', '-c', script], ...spec };
  const execute = externalExecutor({ specs: [program], job: { dataPath: '-', config: DEFAULT_CONFIG }, meter: null });
  return execute<ExternalResult>(
    { kind: externalKind, engine: 'prog', trial: 1, warmup: false },
    { timeoutMs: timeoutSeconds * 1000 },
  );
}

/** Processes whose command line is exactly `argv` (pgrep -x -f), so a test can see its leftovers are gone. */
function running(commandLine: string): number[] {
  const found = spawnSync('pgrep', ['-x', '-f', commandLine], { encoding: 'utf8' });
  return found.stdout.split('\n').filter(Boolean).map(Number);
}

// After a moment's work, as a training program would: its descendant has then become what it runs.
const LOSS_LINE = 'sleep 0.3; echo "step 1 / 1 | loss 3.0000"';

describe('a program that exits and leaves descendants running', () => {
  // The instance: `setsid … &` keeps the stdout pipe open in a session of its own, which a
  // kill of the program's process group does not reach; the bench waited until it ended.
  it('a descendant in its own session holding stdout: reported as exited 0, named, killed, not awaited', async () => {
    const leftover = 'sleep 61.25';
    const run = await runScript(`setsid ${leftover} & ${LOSS_LINE}`, 30);
    expect(run).toMatchObject({ status: 'ok', lingering: [expect.stringMatching(/^sleep 61\.25 \(pid \d+\)$/)] });
    expect(running(leftover)).toEqual([]);
  }, 60_000);

  // The other instance: `sleep 200 &` in the program's own group was reported "timed out".
  it('a descendant in its process group: reported as exited (its own status), named and killed', async () => {
    const leftover = 'sleep 62.25';
    const run = await runScript(`${leftover} & ${LOSS_LINE}; exit 3`, 30);
    expect(run).toMatchObject({ status: 'failed', reason: 'exited with code 3' });
    expect(run.status !== 'interrupted' && run.lingering).toEqual([
      expect.stringMatching(/^sleep 62\.25 \(pid \d+\)$/),
    ]);
    expect(running(leftover)).toEqual([]);
  }, 60_000);

  it('a descendant in its own session with its output sent elsewhere: still found, named and killed', async () => {
    const leftover = 'sleep 63.25';
    const run = await runScript(`setsid ${leftover} </dev/null >/dev/null 2>&1 & ${LOSS_LINE}`, 30);
    expect(run).toMatchObject({ status: 'ok', lingering: [expect.stringMatching(/sleep 63\.25/)] });
    expect(running(leftover)).toEqual([]);
  }, 60_000);

  // Found by its hold on the program's stderr, which the bench reads from /proc when the program
  // starts: a program gone before that (one that only starts a process and exits) leaves only the
  // token and the group to find such a descendant by, and the bench then stops reading after a grace.
  it('a descendant with a cleared environment in its own session, holding stderr: found by the pipe', async () => {
    const leftover = 'sleep 64.25';
    const run = await runScript(`env -i setsid ${leftover} >/dev/null & sleep 0.5; ${LOSS_LINE}`, 30);
    expect(run).toMatchObject({ status: 'ok', lingering: [expect.stringMatching(/sleep 64\.25/)] });
    expect(running(leftover)).toEqual([]);
  }, 60_000);

  it('a program that outlives its timeout with such a descendant: timed out, and the pipe not waited for', async () => {
    const leftover = 'sleep 65.25';
    const run = await runScript(`setsid ${leftover} & sleep 66.25`, 1);
    expect(run).toMatchObject({ status: 'failed', reason: 'timed out after 1 s' });
    expect(running(leftover)).toEqual([]);
  }, 60_000);

  // Made up: a leftover that keeps starting processes. One look at /proc then one kill let what it
  // started between the two live on (`setsid sh -c "sleep 60" &` left its sleep running, reported
  // killed with its sh); each leftover is now stopped before the next look, and all killed at the end.
  it('a leftover that keeps starting processes: none of them outlives the run', async () => {
    const leftover = 'sleep 67.25';
    try {
      const run = await runScript(
        `setsid sh -c 'while :; do ${leftover} & done' </dev/null >/dev/null 2>&1 & ${LOSS_LINE}`,
        30,
      );
      expect(run).toMatchObject({
        status: 'ok',
        lingering: expect.arrayContaining([expect.stringMatching(/^sh -c /)]),
      });
      expect(running(leftover)).toEqual([]);
    } finally {
      spawnSync('pkill', ['-KILL', '-x', '-f', leftover]);
      spawnSync('pkill', ['-KILL', '-f', `while :; do ${leftover}`]);
    }
  }, 60_000);

  it('the progress line names the first three leftovers and counts the rest; the record keeps them all', () => {
    const left = ['sh -c x (pid 1)', 'sleep 9 (pid 2)', 'sleep 9 (pid 3)', 'sleep 9 (pid 4)', 'sleep 9 (pid 5)'];
    expect(namesShortened(left)).toBe('sh -c x (pid 1), sleep 9 (pid 2), sleep 9 (pid 3) and 2 more');
    expect(namesShortened(left.slice(0, 3))).toBe('sh -c x (pid 1), sleep 9 (pid 2), sleep 9 (pid 3)');
  });

  it('a program that leaves nothing behind names nothing', async () => {
    const run = await runScript(LOSS_LINE, 30);
    expect(run).toMatchObject({ status: 'ok' });
    expect(run.status !== 'interrupted' && run.lingering).toBeUndefined();
  });
});

describe('patterns that backtrack without end', () => {
  // 2^40 backtracking steps on its line: hours, so only a timeout the bench keeps can end the run.
  const endless = 'a'.repeat(40);

  // The instance: a --config lossPattern with nested quantifiers blocked the event loop, and
  // `--timeout 5` never fired.
  it('a lossPattern with nested quantifiers: the run times out at --timeout, and the bench goes on', async () => {
    const lossPattern = String.raw`^step (?<step>\d+) (?<loss>(a+)+)$`;
    const run = await runScript(`echo "step 1 ${endless}!"`, 2, { lossPattern });
    expect(run).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^timed out after 2 s/) });
  }, 60_000);

  it('a samplePattern that backtracks on a program still running: the program killed at --timeout', async () => {
    const leftover = 'sleep 67.25';
    const samplePattern = String.raw`^sample (?<text>(\w*\s?)*)$`;
    const run = await runScript(`echo "sample ${endless} ?"; exec ${leftover}`, 2, { samplePattern });
    expect(run).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^timed out after 2 s/) });
    expect(running(leftover)).toEqual([]);
  }, 60_000);

  it('a pattern that is merely slow on a short line still reads every line', async () => {
    const timePattern = String.raw`^took (?<ms>\d+) ms$`;
    const lines = Array.from({ length: 2000 }, (_, i) => `step ${i + 1} / 2000 | loss 3.${i}`).join('\n');
    const run = await runScript(`printf '%s\\n' "${lines}" 'took 42 ms'`, 30, { timePattern });
    expect(run).toMatchObject({ status: 'ok', result: { trainingMs: 42, printedSteps: 2000 } });
    expect(run.status === 'ok' && run.result.losses.map((l) => l.step)).toEqual(
      Array.from({ length: 2000 }, (_, i) => i + 1),
    );
  }, 60_000);
});

describe('output without line ends', () => {
  // The instance: 100 MB without a newline took more than 40 s to read, each chunk re-splitting
  // the whole line so far. Read in linear time it takes about a second (9 s at load average 25); the limit is 30 s.
  it('100 MB on stdout without a newline, then a loss line: read in time, the loss line found', async () => {
    const run = await runScript(`head -c 100000000 /dev/zero | tr '\\0' x; echo; ${LOSS_LINE}`, 30);
    expect(run).toMatchObject({ status: 'ok', result: { losses: [{ step: 1, loss: '3.0000' }] } });
  }, 60_000);

  it('a line past the cap is kept to its head, in bounded memory; the lines after it are read whole', () => {
    const out = emptyOutput();
    const patterns = { lossPattern: String.raw`^(?<step>\d+) (?<loss>x*)$`, samplePattern: null, timePattern: null };
    const reader = new OutputReader(patterns, out);
    reader.push('1 ');
    for (let i = 0; i < 200; i++) reader.push('x'.repeat(65_536));
    reader.push('\r\n2 xx\r');
    reader.push('\n3 x');
    reader.end();
    expect(out.losses.map((l) => [l.step, l.loss.length])).toEqual([
      [1, MAX_LINE_CHARS - 2],
      [2, 2],
      [3, 1],
    ]);
  });

  it('20 MB on stderr without a line end, loss lines on stdout meanwhile: both read', async () => {
    const noise = `head -c 20000000 /dev/zero | tr '\\0' y >&2`;
    const run = await runScript(`echo "step 1 / 2 | loss 3.0000"; ${noise}; echo "step 2 / 2 | loss 2.0000"`, 20);
    expect(run).toMatchObject({ status: 'ok', result: { losses: [{ step: 1 }, { step: 2 }] } });
  }, 60_000);
});
