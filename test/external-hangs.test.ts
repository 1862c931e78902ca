/**
 * --timeout holds whatever an external program does: descendants left behind (in its process group
 * or in a session of their own, holding its output pipes or not), patterns that backtrack without
 * end, output without line ends. Each run here is a few shell lines, so the file stays cheap.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { externalExecutor } from '../scenarios/bench/external/executor.ts';
import { externalFlag, type ExternalSpec } from '../scenarios/bench/external/spec.ts';
import type { ExternalResult } from '../scenarios/bench/kinds/external.ts';
import { externalKind } from '../scenarios/bench/kinds/index.ts';
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

  it('a program that leaves nothing behind names nothing', async () => {
    const run = await runScript(LOSS_LINE, 30);
    expect(run).toMatchObject({ status: 'ok' });
    expect(run.status !== 'interrupted' && run.lingering).toBeUndefined();
  });
});
