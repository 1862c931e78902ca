/**
 * bench:history's pure parts, without git or valgrind: the bisection on made-up readings (its answer
 * and its number of probes against a linear scan, the oracle), and the table's changes and flags.
 */
import { describe, expect, it } from 'vitest';
import { bisect, type Reading } from '../scenarios/history/bisect.ts';
import type { CommitInfo } from '../scenarios/history/git.ts';
import type { CommitRecord } from '../scenarios/history/measure.ts';
import { historyCsv, historyTable } from '../scenarios/history/table.ts';

const info = (i: number): CommitInfo => ({ commit: `${i}`.padStart(40, '0'), date: '2026-01-01', subject: `c${i}` });

/** Commits 1..n after GOOD (commit 0); each reads `values[i]`, or fails where `values[i]` is null. */
async function search(values: readonly (number | null)[], threshold = 1) {
  const commits = values.slice(1).map((_, i) => info(i + 1));
  const read = async (c: CommitInfo): Promise<Reading> => {
    const v = values[Number(c.commit)];
    return v === null ? { failed: 'broken' } : { value: v };
  };
  return bisect(info(0), commits, threshold, read);
}

describe('bisect', () => {
  it('finds the first slower commit for every position, within ceil(log2(n)) + 2 probes', async () => {
    for (let n = 1; n <= 33; n++) {
      for (let first = 1; first <= n; first++) {
        // A step of 2% at `first`, with wiggles of 0.1% elsewhere that must not count.
        const values = Array.from({ length: n + 1 }, (_, i) => (i >= first ? 102 : 100) + (i % 3) * 0.1);
        const r = await search(values);
        expect(r.outcome).toMatchObject({ kind: 'found', first: info(first) });
        expect(r.probes.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 2);
        expect(new Set(r.probes.map((p) => p.commit.commit)).size).toBe(r.probes.length);
      }
    }
  });

  it('says when BAD is not slower beyond the threshold', async () => {
    const r = await search([100, 100.5, 100.9]);
    expect(r.outcome).toMatchObject({ kind: 'not slower' });
    expect(r.probes).toHaveLength(2);
  });

  it('skips a broken commit and still names the first slower one', async () => {
    // Broken c3, slower from c5 (the test repository's layout): one probe more at most.
    const r = await search([100, 100, 100, null, 100, 102, 102, 102]);
    expect(r.outcome).toMatchObject({ kind: 'found', first: info(5) });
    expect(r.skipped).toEqual([info(3)]);
    expect(r.probes.length).toBeLessThanOrEqual(5);
  });

  it('names the candidates when a skipped commit lies right before the first slower one', async () => {
    const r = await search([100, 100, 100, null, 102, 102]);
    expect(r.outcome).toEqual({ kind: 'ambiguous', candidates: [info(3), info(4)] });
  });
});

const figures = (engine: string, cycles: number | null) => ({
  engine,
  status: cycles === null ? ('failed' as const) : ('ok' as const),
  reason: cycles === null ? 'threw' : null,
  instructionsPerStep: cycles === null ? null : cycles / 1.5,
  cyclesPerStep: cycles,
  timeMs: null,
});

function record(i: number, engines: ReturnType<typeof figures>[], failure: string | null = null): CommitRecord {
  return { ...info(i), key: 'k', wanted: null, measuredAt: '', bundle: null, sameAs: null, failure, engines };
}

describe('historyTable', () => {
  const records = [
    record(0, [figures('a', 100), figures('b', 200)]),
    record(1, [], 'does not load: boom'),
    record(2, [figures('a', 100.5), figures('b', null)]),
    record(3, [figures('a', 102), figures('b', 190)]),
  ];
  const t = historyTable(records, 1, 'cycles');

  it('takes each change from the previous commit with figures for that engine, and flags beyond the threshold', () => {
    const cell = (row: number, engine: string) => t.rows[row].cells.get(engine)!;
    expect(cell(0, 'a').change).toBeNull();
    expect(cell(1, 'a').change).toBeNull();
    expect(cell(2, 'a').change).toBeCloseTo(0.005, 12);
    expect(cell(2, 'a').flag).toBeNull();
    expect(cell(3, 'a').change).toBeCloseTo(102 / 100.5 - 1, 12);
    expect(cell(3, 'a').flag).toBe('slower');
    // b failed at c2: c3 is compared with c0.
    expect(cell(3, 'b').change).toBeCloseTo(-0.05, 12);
    expect(cell(3, 'b').flag).toBe('faster');
  });

  it('writes a failed commit as one CSV row, and a row per engine otherwise', () => {
    const lines = historyCsv(t).trim().split('\n');
    expect(lines).toHaveLength(1 + 2 + 1 + 2 + 2);
    expect(lines.filter((l) => l.includes('does not load'))).toHaveLength(1);
  });
});
