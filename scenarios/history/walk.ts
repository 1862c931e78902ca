/**
 * Commits measured on demand: each commit's record read back when one was made under the same key,
 * else its engines prepared (checkout.ts) and measured (measure.ts). A commit whose engines do not
 * build, load or fit costs a failed record, never the walk. Several commits can be measured at once
 * (count runs do not change with the load); timed trials go one commit at a time.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { makeDirs } from '../files.ts';
import { join } from 'node:path';
import { dependencyCache, prepareCommit, type EngineSource } from './checkout.ts';
import type { CommitInfo } from './git.ts';
import {
  findByBundle,
  isWhole,
  measureCommit,
  recordSame,
  measureKey,
  readRecord,
  recordFailure,
  type CommitRecord,
  type MeasureSetup,
} from './measure.ts';

export interface HistoryOptions {
  readonly source: EngineSource;
  readonly setup: MeasureSetup;
  /** Results root: a folder per commit. */
  readonly out: string;
  /** Where commits' trees and dependencies are staged. */
  readonly work: string;
  /** Measure again even where a record under the same key exists. */
  readonly rerun: boolean;
  readonly signal: AbortSignal;
  /** A line per commit as it is settled. */
  readonly say: (line: string) => void;
}

export interface Settled {
  readonly record: CommitRecord;
  /** Measured now; read back; or the same engines as a commit measured (see recordSame). */
  readonly how: Settlement;
}

export type Settlement = 'measured' | 'reused' | 'same';

export interface Measurer {
  /** The commit's record, measured or read back; null when stopped. */
  record(info: CommitInfo): Promise<Settled | null>;
  /** Commits measured by this process (a failed one too), and those read back. */
  readonly measured: string[];
  readonly reused: string[];
  /** Commits whose engines were byte for byte those of a commit measured, not measured again. */
  readonly same: string[];
  /** Lockfile hashes installed by this process. */
  readonly installs: readonly string[];
}

export function measurer(o: HistoryOptions): Measurer {
  const key = measureKey(o.setup);
  const deps = dependencyCache(join(o.work, 'deps'));
  const measured: string[] = [];
  const reused: string[] = [];
  const same: string[] = [];
  const byBundle = new Map<string, Promise<CommitRecord | null>>();
  const record = async (info: CommitInfo): Promise<Settled | null> => {
    const r = await settle(info);
    if (r) ({ measured, reused, same })[r.how].push(info.commit);
    return r;
  };
  const settle = async (info: CommitInfo): Promise<Settled | null> => {
    const measuredNow = (record: CommitRecord | null): Settled | null => record && { record, how: 'measured' };
    const dir = join(o.out, info.commit);
    const known = o.rerun ? null : readRecord(dir, key, o.setup.engines);
    if (known) return { record: known, how: 'reused' };
    const { tree, release } = claimTree(o.work, info.commit);
    try {
      const wanted = o.setup.engines;
      const prepared = await prepareCommit({ source: o.source, commit: info.commit, dir: tree, deps, wanted });
      if (o.signal.aborted) return null;
      if (!prepared.ok) return measuredNow(recordFailure(dir, info, key, o.setup.engines, prepared.reason));
      const present = prepared.value.engines.map((e) => e.display);
      const missing = (wanted ?? []).filter((name) => !present.includes(name));
      if (present.length === 0 && missing.length === 0)
        return measuredNow(recordFailure(dir, info, key, o.setup.engines, 'it exports no engine'));
      const bundle = prepared.value.bundleHash;
      // Counts only: the same code counts the same; a time is a measurement of its own.
      const shared = !o.rerun && o.setup.trials === 0;
      const earlier = !shared ? undefined : (byBundle.get(bundle) ?? found(findByBundle(o.out, key, wanted, bundle)));
      // No await unless there is a measurement to wait for: a lane measuring the same bundle registers it first.
      const twin = earlier ? await earlier : null;
      if (twin && twin.commit !== info.commit) return { record: recordSame(dir, info, bundle, twin), how: 'same' };
      const measuring = measureCommit(dir, info, key, o.setup, prepared.value, missing, o.signal);
      byBundle.set(
        bundle,
        measuring.then((r) => (r && isWhole(r) ? r : null)),
      );
      return measuredNow(await measuring);
    } finally {
      rmSync(tree, { recursive: true, force: true });
      release();
    }
  };
  return { record, measured, reused, same, installs: deps.installed };
}

/**
 * The folder a commit's tree is staged in: `trees/<commit>`, the same every time (see checkout.ts),
 * claimed by a lock file; when another walk holds it (the same commit in two walks at once), a folder
 * of this process's own.
 */
function claimTree(work: string, commit: string): { tree: string; release: () => void } {
  const trees = join(work, 'trees');
  makeDirs(trees);
  const lock = join(trees, `${commit}.lock`);
  const own = { tree: join(trees, commit), release: () => rmSync(lock, { force: true }) };
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return own;
  } catch {
    // A lock left by a walk that is gone (killed) is taken over.
    if (!isAlive(Number(readFileSync(lock, 'utf8')))) {
      writeFileSync(lock, String(process.pid));
      return own;
    }
    return { tree: join(trees, `${commit}-${process.pid}`), release: () => {} };
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const found = (r: CommitRecord | null) => (r ? Promise.resolve(r) : undefined);

/** One line for a settled commit. */
export function commitLine(r: CommitRecord, how: Settlement): string {
  const head =
    how === 'same' || r.sameAs !== null
      ? `${r.commit.slice(0, 10)} ${how === 'same' ? '' : 'reused, '}same engines as ${r.sameAs!.slice(0, 10)}`
      : `${r.commit.slice(0, 10)} ${how}`;
  if (r.failure !== null) return `${head}: failed: ${r.failure}`;
  const parts = r.engines.map((e) =>
    e.status !== 'ok'
      ? `${e.engine} failed: ${e.reason}`
      : e.cyclesPerStep !== null
        ? `${e.engine} ${Math.round(e.cyclesPerStep).toLocaleString('en-US')} est. cycles/step`
        : `${e.engine} ${e.timeMs?.toFixed(2)} ms`,
  );
  return `${head}: ${parts.join(', ')}`;
}

/**
 * Every commit's record in the walk's order, `concurrency` commits at a time; null when stopped
 * (what was settled stays in its folder).
 */
export async function walk(
  commits: readonly CommitInfo[],
  o: HistoryOptions,
  m: Measurer,
  concurrency: number,
): Promise<CommitRecord[] | null> {
  const records: (CommitRecord | null)[] = new Array<CommitRecord | null>(commits.length).fill(null);
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < commits.length && !o.signal.aborted) {
      const i = next++;
      const r = await m.record(commits[i]);
      if (r === null) return;
      records[i] = r.record;
      done++;
      o.say(`[${done}/${commits.length}] ${commitLine(r.record, r.how)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, commits.length)) }, lane));
  return records.every((r) => r !== null) ? (records as CommitRecord[]) : null;
}
