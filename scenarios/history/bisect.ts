/**
 * `--bisect`: the first commit between GOOD and BAD whose estimated cycles per step exceed GOOD's by
 * more than the threshold, by binary search on counts (deterministic, so one count per commit
 * decides). GOOD and BAD are measured first; then each probe halves the commits left. A commit whose
 * engine does not build, load or run is skipped as `git bisect skip` does: the nearest commit not yet
 * skipped in the interval is probed instead, and the answer names the skipped commits it could not
 * rule out. With no skip, the commits measured are at most ceil(log2(n)) + 2 for n commits in GOOD..BAD.
 */
import type { CommitInfo } from './git.ts';
import type { CommitRecord } from './measure.ts';

/** A probe's reading: the engine's estimated cycles per step, or why there is none. */
export type Reading = { readonly value: number } | { readonly failed: string };

export interface BisectProbe {
  readonly commit: CommitInfo;
  readonly reading: Reading;
}

export type BisectOutcome =
  | { readonly kind: 'found'; readonly first: CommitInfo; readonly value: number; readonly change: number }
  /** The first slower commit is one of these: skipped ones that could not be told, and the next good reading. */
  | { readonly kind: 'ambiguous'; readonly candidates: readonly CommitInfo[] }
  | { readonly kind: 'not slower'; readonly change: number };

export interface BisectResult {
  readonly good: number;
  readonly outcome: BisectOutcome;
  readonly probes: readonly BisectProbe[];
  readonly skipped: readonly CommitInfo[];
}

/** The engine's reading in a record. */
export function readingOf(record: CommitRecord, engine: string): Reading {
  if (record.failure !== null) return { failed: record.failure };
  const e = record.engines.find((x) => x.engine === engine);
  if (!e) return { failed: `no engine '${engine}' at this commit` };
  if (e.status !== 'ok' || e.cyclesPerStep === null) return { failed: e.reason ?? 'no counts' };
  return { value: e.cyclesPerStep };
}

/**
 * `commits` are GOOD..BAD in the walk's order (GOOD excluded, BAD last); `read` measures one. GOOD
 * and BAD must read (the caller says why not, as their failure is not a commit to skip).
 */
export async function bisect(
  good: CommitInfo,
  commits: readonly CommitInfo[],
  threshold: number,
  read: (c: CommitInfo) => Promise<Reading>,
): Promise<BisectResult> {
  const probes: BisectProbe[] = [];
  const probe = async (commit: CommitInfo) => {
    const reading = await read(commit);
    probes.push({ commit, reading });
    return reading;
  };
  // GOOD and BAD at once: neither depends on the other (count runs do not change with the load).
  const bad = commits.at(-1)!;
  const [goodReading, badReading] = await Promise.all([read(good), read(bad)]);
  probes.push({ commit: good, reading: goodReading }, { commit: bad, reading: badReading });
  if (!('value' in goodReading))
    throw new BisectInputError(`--good ${short(good)} has no count: ${goodReading.failed}`);
  if (!('value' in badReading)) throw new BisectInputError(`--bad ${short(bad)} has no count: ${badReading.failed}`);
  const base = goodReading.value;
  const slower = (v: number) => (v / base - 1) * 100 > threshold;
  if (!slower(badReading.value))
    return { good: base, outcome: { kind: 'not slower', change: badReading.value / base - 1 }, probes, skipped: [] };

  // Invariant: index lo reads not slower (-1: GOOD), hi reads slower; skipped lie in between.
  let lo = -1;
  let hi = commits.length - 1;
  let hiValue = badReading.value;
  const skipped = new Set<number>();
  for (;;) {
    const open = range(lo + 1, hi).filter((i) => !skipped.has(i));
    if (open.length === 0) break;
    const mid = Math.floor((lo + hi) / 2);
    // The middle, or the open commit nearest to it, the later of two as near (git bisect skip picks one near it).
    const at = open.reduce((best, i) => (Math.abs(i - mid) <= Math.abs(best - mid) ? i : best), open[0]);
    const reading = await probe(commits[at]);
    if (!('value' in reading)) skipped.add(at);
    else if (slower(reading.value)) [hi, hiValue] = [at, reading.value];
    else lo = at;
  }
  const between = range(lo + 1, hi).filter((i) => skipped.has(i));
  const skippedCommits = [...skipped].sort((a, b) => a - b).map((i) => commits[i]);
  if (between.length > 0)
    return {
      good: base,
      outcome: { kind: 'ambiguous', candidates: [...between, hi].map((i) => commits[i]) },
      probes,
      skipped: skippedCommits,
    };
  return {
    good: base,
    outcome: { kind: 'found', first: commits[hi], value: hiValue, change: hiValue / base - 1 },
    probes,
    skipped: skippedCommits,
  };
}

/** Bad input found only once GOOD or BAD was measured. */
export class BisectInputError extends Error {
  override readonly name = 'BisectInputError';
}

/** The whole numbers from `from` up to `to`, `to` excluded. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

const short = (c: CommitInfo) => c.commit.slice(0, 10);
