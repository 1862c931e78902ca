import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import type { RunRecord } from '../scenarios/bench/job-kind.ts';
import { gradcheckKind, trainKind } from '../scenarios/bench/kinds/index.ts';
import { processExecutor } from '../scenarios/bench/process-executor.ts';
import { schedule, type Executed, type Executor, type SchedulePlan, type Task } from '../scenarios/bench/scheduler.ts';
import graphSize, { type GraphSize } from './fixtures/graph-size-kind.ts';

/** A fake executor (hyperfine's MockExecutor): records each task, answers from `outcome`, takes no time. */
function fakeExecutor(outcome: (task: Task<unknown>, call: number) => Executed<unknown> = okOutcome) {
  const calls: string[] = [];
  const execute: Executor = async <R>(task: Task<R>) => {
    calls.push(`${task.kind.name} ${task.engine} ${task.warmup ? 'w' : 't'}${task.trial}`);
    return outcome(task as Task<unknown>, calls.length) as Executed<R>;
  };
  return { calls, execute };
}

function okOutcome(task: Task<unknown>): Executed<unknown> {
  return { status: 'ok', result: { engine: task.engine, nodes: 1, edges: 2, loss: 3 } satisfies GraphSize, wallMs: 1 };
}

const plan = (over: Partial<SchedulePlan> = {}): SchedulePlan => ({
  engines: ['a', 'b', 'c'],
  kinds: [graphSize],
  warmup: 0,
  trials: 2,
  timeoutMs: 1000,
  ...over,
});

describe('the scheduler, with a job kind defined in one file and a fake executor', () => {
  it('goes round-robin: round 1 of every engine, then round 2', async () => {
    const { calls, execute } = fakeExecutor();
    const records: RunRecord[] = [];
    expect(await schedule(plan(), execute, { onRunEnd: (_, r) => records.push(r) })).toBe('completed');
    expect(calls).toEqual([
      'graph-size a t1',
      'graph-size b t1',
      'graph-size c t1',
      'graph-size a t2',
      'graph-size b t2',
      'graph-size c t2',
    ]);
    expect(records[4]).toEqual({
      kind: 'graph-size',
      engine: 'b',
      trial: 2,
      warmup: false,
      status: 'ok',
      result: { engine: 'b', nodes: 1, edges: 2, loss: 3 },
      wallMs: 1,
      // What this executor did not measure.
      startupMs: null,
      userMs: null,
      systemMs: null,
      maxRssBytes: null,
      counts: null,
    });
  });

  it('carries out a round’s runs `concurrency` at a time, never two rounds at once', async () => {
    let inFlight = 0;
    const seen: number[] = [];
    const started: string[] = [];
    const execute: Executor = async <R>(task: Task<R>) => {
      started.push(`${task.engine} t${task.trial}`);
      seen.push(++inFlight);
      await new Promise((done) => setTimeout(done, 20));
      inFlight--;
      return okOutcome(task as Task<unknown>) as Executed<R>;
    };
    const records: string[] = [];
    const ended = await schedule(plan({ concurrency: 2 }), execute, {
      onRunEnd: (t) => records.push(`${t.engine} t${t.trial}`),
    });
    expect(ended).toBe('completed');
    expect(started).toEqual(['a t1', 'b t1', 'c t1', 'a t2', 'b t2', 'c t2']);
    expect(Math.max(...seen)).toBe(2);
    // Round 2 starts only once round 1 has ended.
    expect(records.slice(0, 3).sort()).toEqual(['a t1', 'b t1', 'c t1']);
  });

  it('carries out only the runs `include` accepts (a sweep shard), in the same order', async () => {
    const { calls, execute } = fakeExecutor();
    const include = (task: Task<unknown>) => task.engine !== 'b' || task.trial === 2;
    expect(await schedule(plan({ include }), execute)).toBe('completed');
    expect(calls).toEqual([
      'graph-size a t1',
      'graph-size c t1',
      'graph-size a t2',
      'graph-size b t2',
      'graph-size c t2',
    ]);
  });

  it('runs another kind alongside: external programs inside each round of the training trials', async () => {
    const { calls, execute } = fakeExecutor((task) =>
      task.engine === 'p2' ? { status: 'failed', reason: 'exit 3', wallMs: 1 } : okOutcome(task),
    );
    const alongside = [{ with: trainKind, kind: graphSize, names: ['p1', 'p2'] }];
    await schedule(plan({ engines: ['a'], kinds: [trainKind, gradcheckKind], alongside, trials: 2 }), execute);
    expect(calls).toEqual([
      'train a t1',
      'graph-size p1 t1',
      'graph-size p2 t1',
      'train a t2',
      'graph-size p1 t2',
      // p2 failed: it sits out its second round; the gradient checks are the engines' only.
      'gradcheck a t1',
    ]);
  });

  it('runs the warm-up rounds first, for kinds that have them, and each kind after the one before', async () => {
    const { calls, execute } = fakeExecutor();
    await schedule(
      plan({ engines: ['a', 'b'], kinds: [trainKind, graphSize, gradcheckKind], warmup: 1, trials: 1 }),
      execute,
    );
    expect(calls).toEqual([
      'train a w1',
      'train b w1',
      'train a t1',
      'train b t1',
      'graph-size a t1',
      'graph-size b t1',
      'gradcheck a t1',
      'gradcheck b t1',
    ]);
  });

  it('sits an engine out of the rest of a kind after a failure or divergence, not of the next kind', async () => {
    const { calls, execute } = fakeExecutor((task) =>
      task.engine === 'b' && task.kind === graphSize
        ? { status: 'diverged', reason: 'loss became NaN', divergedAtStep: 1, wallMs: 1 }
        : task.engine === 'c' && task.trial === 2
          ? { status: 'failed', reason: 'threw', wallMs: 1 }
          : okOutcome(task),
    );
    const records: RunRecord[] = [];
    await schedule(plan({ kinds: [graphSize, gradcheckKind], trials: 3 }), execute, {
      onRunEnd: (_, r) => records.push(r),
    });
    expect(calls).toEqual([
      'graph-size a t1',
      'graph-size b t1',
      'graph-size c t1',
      'graph-size a t2',
      'graph-size c t2',
      'graph-size a t3',
      'gradcheck a t1',
      'gradcheck b t1',
      'gradcheck c t1',
    ]);
    expect(records.filter((r) => r.status !== 'ok').map((r) => `${r.engine} ${r.status}`)).toEqual([
      'b diverged',
      'c failed',
    ]);
  });

  it('stops at an interrupted run, recording nothing for it, and runs nothing after', async () => {
    const { calls, execute } = fakeExecutor((task, call) => (call === 3 ? { status: 'interrupted' } : okOutcome(task)));
    const records: RunRecord[] = [];
    expect(await schedule(plan(), execute, { onRunEnd: (_, r) => records.push(r) })).toBe('interrupted');
    expect(calls).toHaveLength(3);
    expect(records.map((r) => r.engine)).toEqual(['a', 'b']);
  });

  it('starts nothing once the signal has fired', async () => {
    const { calls, execute } = fakeExecutor();
    const stop = new AbortController();
    const ended = schedule(plan(), execute, { onRunEnd: () => stop.abort() }, stop.signal);
    expect(await ended).toBe('interrupted');
    expect(calls).toHaveLength(1);
  });

  it('passes progress through, labelled with its task', async () => {
    const seen: string[] = [];
    const execute: Executor = async (task, opts) => {
      opts.onProgress?.({ type: 'start', steps: 1 });
      opts.onProgress?.({ type: 'step', step: 1, loss: 3 });
      return okOutcome(task as Task<unknown>) as never;
    };
    await schedule(plan({ engines: ['a'], trials: 1 }), execute, {
      onProgress: (task, p) => seen.push(`${task.engine} ${p.type}`),
    });
    expect(seen).toEqual(['a start', 'a step']);
  });
});

describe('the same kind through the process executor', () => {
  it("runs in a fresh worker process, its result checked against the kind's schema", async () => {
    const execute = processExecutor(
      { dataPath: null, config: { ...DEFAULT_CONFIG, samples: 0 }, enginesModule: null },
      { worker: null, meter: null },
    );
    const records: RunRecord[] = [];
    const ended = await schedule(plan({ engines: ['topo', 'fused'], trials: 1, timeoutMs: 60_000 }), execute, {
      onRunEnd: (_, r) => records.push(r),
    });
    expect(ended).toBe('completed');
    const [topo, fused] = records as RunRecord<GraphSize>[];
    expect(topo).toMatchObject({ kind: 'graph-size', engine: 'topo', status: 'ok' });
    expect(fused).toMatchObject({ kind: 'graph-size', engine: 'fused', status: 'ok' });
    if (topo.status !== 'ok' || fused.status !== 'ok') return;
    expect(fused.result.loss).toBe(topo.result.loss);
    expect(fused.result.nodes).toBeLessThan(topo.result.nodes / 3);
  });

  it('a worker the kernel refuses to start (its job over 128 KiB) is a failed run, not a throw', async () => {
    const execute = processExecutor(
      { dataPath: null, config: DEFAULT_CONFIG, enginesModule: `/${'x'.repeat(200_000)}.mjs` },
      { worker: null, meter: null },
    );
    const run = await execute({ kind: graphSize, engine: 'topo', trial: 1, warmup: false }, { timeoutMs: 60_000 });
    expect(run).toMatchObject({ status: 'failed', reason: 'could not start: spawn E2BIG' });
  });
});
