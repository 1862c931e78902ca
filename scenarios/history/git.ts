/**
 * What bench:history asks of git: the commits of a range in the order `git rev-list --reverse` gives
 * (oldest first), each commit's date and subject, and its tree exported into a folder. Read-only: the
 * repository's working tree, index and worktree list are never touched (`git archive`, not checkout).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { InputError } from '../../engines/input-error.ts';
import { makeDirs } from '../files.ts';

export interface CommitInfo {
  /** The full hash. */
  readonly commit: string;
  /** Committer date, ISO 8601. */
  readonly date: string;
  readonly subject: string;
}

/** git in `repo`, its stdout; throws with git's first line of stderr. */
function git(repo: string, args: readonly string[], input?: string): string {
  const r = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new InputError(`git: ${r.error.message}`);
  if (r.status !== 0) throw new Error(r.stderr.trim().split('\n')[0] || `git ${args[0]} failed`);
  return r.stdout;
}

/** The repository's top folder, or an InputError for a folder that is not in one. */
export function repoRoot(dir: string): string {
  try {
    return git(dir, ['rev-parse', '--show-toplevel']).trim();
  } catch {
    throw new InputError(`${dir}: not a git repository`);
  }
}

/** A revision's full hash, or an InputError naming it. */
export function resolveRevision(repo: string, rev: string, flag: string): string {
  try {
    return git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]).trim();
  } catch {
    throw new InputError(`${flag} ${rev}: unknown revision in ${repo}`);
  }
}

/**
 * The commits of REV-RANGE as `git rev-list --reverse` lists them (oldest first), each with its date and
 * subject. The range is one argument of rev-list (`A..B`, `A...B`, or one revision: it and its
 * ancestors); an unknown revision or an empty range is an InputError. With `firstParent`, only the
 * commits on the first-parent line (a merge is one commit, not its branch's commits in date order).
 */
export function commitsOf(repo: string, range: string, flag = '--commits', firstParent = false): CommitInfo[] {
  if (range.trim() === '' || range.startsWith('-'))
    throw new InputError(`${flag} expects a revision range, got '${range}'`);
  let out: string;
  try {
    // %x00 between fields, a record per line: subjects hold no newline.
    const line = firstParent ? ['--first-parent'] : [];
    out = git(repo, ['log', '--reverse', ...line, '--format=%H%x00%cI%x00%s', range, '--']);
  } catch (err) {
    throw new InputError(`${flag} ${range}: ${(err as Error).message.replace(/^fatal: /, '')}`);
  }
  const commits = out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [commit, date, subject] = line.split('\0');
      return { commit, date, subject };
    });
  if (commits.length === 0) throw new InputError(`${flag} ${range}: the range holds no commit`);
  return commits;
}

/** Whether `path` exists in `commit`'s tree. */
export function hasPath(repo: string, commit: string, path: string): boolean {
  return spawnSync('git', ['-C', repo, 'cat-file', '-e', `${commit}:${path}`], { stdio: 'ignore' }).status === 0;
}

/** Whether `ancestor` is `commit` or one of its ancestors. */
export function isAncestor(repo: string, ancestor: string, commit: string): boolean {
  return (
    spawnSync('git', ['-C', repo, 'merge-base', '--is-ancestor', ancestor, commit], { stdio: 'ignore' }).status === 0
  );
}

/** A file's bytes at `commit`, or null where it is not. */
export function fileAt(repo: string, commit: string, path: string): Buffer | null {
  if (!hasPath(repo, commit, path)) return null;
  return execFileSync('git', ['-C', repo, 'show', `${commit}:${path}`], { maxBuffer: 256 * 1024 * 1024 });
}

/** `commit`'s tree, as committed (no untracked or ignored file), written into the folder `dir`. */
export function exportTree(repo: string, commit: string, dir: string): void {
  makeDirs(dir);
  const archive = execFileSync('git', ['-C', repo, 'archive', '--format=tar', commit], {
    maxBuffer: 1024 * 1024 * 1024,
  });
  const r = spawnSync('tar', ['-x', '-C', dir], { input: archive, stdio: ['pipe', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`tar: ${String(r.stderr).trim().split('\n')[0]}`);
}
