/**
 * Finding the processes a measured child left running when it exited, without cgroups (the bench
 * runs unprivileged and on machines without a delegated cgroup tree). A descendant can leave the
 * child's process group (`setsid`), and then a kill of the group misses it; when it also keeps the
 * child's stdout or stderr open, the bench would wait for it. Three marks find it, read from /proc:
 * - its process group is the child's (the child leads one: it was started `detached`);
 * - its environment holds the run's token, set in the child's environment at spawn and inherited by
 *   every descendant that did not clear its environment (`setsid`, double forks, daemons);
 * - it holds one of the child's output pipes open (found even after `env -i`), which is exactly what
 *   would hold the bench.
 * Descendants of a process found are taken too. On a system without /proc only the group is killed.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';

/** The environment variable that marks every process a run started. */
export const RUN_TOKEN_VARIABLE = 'MICROGPT_BENCH_RUN';

/** A fresh token for one run's environment. */
export function newRunToken(): string {
  return randomBytes(8).toString('hex');
}

/** What marks a run's processes. */
export interface RunMarks {
  /** The child's pid, which is its process group's id. */
  readonly group: number;
  /** The run's token in its environment, or null if it was not given one. */
  readonly token: string | null;
  /** The child's ends of its output pipes as /proc names them (see outputsOf). */
  readonly outputs: ReadonlySet<string>;
}

/** A process left behind: its pid and command line (printable, shortened). */
export interface Leftover {
  readonly pid: number;
  readonly command: string;
}

const COMMAND_CHARS = 80;

/**
 * The child's ends of its piped output as /proc names them (`socket:[123]`: Node's stdio "pipes" are
 * socket pairs, whose two ends are different inodes, so the bench's own ends would not match). Read
 * right after spawn, which returns once the child has exec'd with them as its fds 1, 2 and any after.
 */
export function outputsOf(child: ChildProcess): Set<string> {
  const outputs = new Set<string>();
  if (child.pid === undefined) return outputs;
  for (let fd = 1; fd < child.stdio.length; fd++) {
    if (!child.stdio[fd]) continue;
    try {
      outputs.add(readlinkSync(`/proc/${child.pid}/fd/${fd}`));
    } catch {
      // no /proc, or the child already gone: the group and the token remain
    }
  }
  return outputs;
}

/** Every live process carrying one of the run's marks, and their descendants; never this process. */
export function findLeftovers(marks: RunMarks): Leftover[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
  const tokenEntry = marks.token === null ? null : `${RUN_TOKEN_VARIABLE}=${marks.token}\0`;
  const parents = new Map<number, number>();
  const found = new Set<number>();
  for (const pid of pids) {
    if (pid === process.pid) continue;
    const stat = statOf(pid);
    if (!stat || stat.zombie) continue;
    parents.set(pid, stat.ppid);
    if (stat.pgid === marks.group || hasToken(pid, tokenEntry) || holdsOutput(pid, marks.outputs)) found.add(pid);
  }
  // Descendants of a process found (one that cleared its environment and closed its output, say).
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents)
      if (!found.has(pid) && found.has(ppid)) {
        found.add(pid);
        grew = true;
      }
  }
  return [...found].sort((a, b) => a - b).map((pid) => ({ pid, command: commandOf(pid) }));
}

/** The most looks at /proc `killAllLeftovers` takes; each stops what the last one missed. */
const MAX_LOOKS = 20;

/**
 * Kills every leftover, those they start meanwhile included, and returns them. Each one found is
 * stopped first (SIGSTOP: a stopped process starts nothing), then /proc is read again, until a look
 * finds nothing new; then all get SIGKILL. A single look then a kill missed what a leftover started
 * between the two: `setsid sh -c "sleep 60" &` left its sleep running, its sh reported killed.
 */
export function killAllLeftovers(marks: RunMarks): Leftover[] {
  const found = new Map<number, Leftover>();
  for (let look = 0; look < MAX_LOOKS; look++) {
    const fresh = findLeftovers(marks).filter(({ pid }) => !found.has(pid));
    if (fresh.length === 0) break;
    for (const leftover of fresh) {
      found.set(leftover.pid, leftover);
      signal(leftover.pid, 'SIGSTOP');
    }
  }
  const leftovers = [...found.values()].sort((a, b) => a.pid - b.pid);
  for (const { pid } of leftovers) signal(pid, 'SIGKILL');
  return leftovers;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // ended meanwhile
  }
}

/** `sleep 200 (pid 4242)`: how a record names a leftover. */
export function describeLeftover({ pid, command }: Leftover): string {
  return `${command} (pid ${pid})`;
}

function statOf(pid: number): { ppid: number; pgid: number; zombie: boolean } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold anything, spaces and parentheses included.
    const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(ppid), pgid: Number(pgid), zombie: state === 'Z' || state === 'X' };
  } catch {
    return null;
  }
}

function hasToken(pid: number, entry: string | null): boolean {
  if (entry === null) return false;
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    return environ.startsWith(entry) || environ.includes(`\0${entry}`);
  } catch {
    return false; // another user's process, or gone
  }
}

function holdsOutput(pid: number, outputs: ReadonlySet<string>): boolean {
  if (outputs.size === 0) return false;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (outputs.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return true;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // another user's process, or gone
  }
  return false;
}

function commandOf(pid: number): string {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' ');
  } catch {
    text = '';
  }
  // eslint-disable-next-line no-control-regex -- a command line may hold anything; the record gets printable text
  const printable = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  if (printable === '') return '?';
  return printable.length > COMMAND_CHARS ? `${printable.slice(0, COMMAND_CHARS - 1)}…` : printable;
}
