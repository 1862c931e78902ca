/**
 * Supervising a child process that runs one measurement: the tail of its stderr kept to explain a
 * crash, SIGKILL past its time limit or when the caller stops, the processes it left running killed
 * when it exits, and how it ended in one phrase.
 */
import { ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import {
  describeLeftover,
  killAllLeftovers,
  newRunToken,
  outputsOf,
  type RunMarks,
  RUN_TOKEN_VARIABLE,
} from './leftovers.ts';

/** How long past its timeout a child may outlive a bench that can no longer kill it. */
const REAPER_GRACE_SECONDS = 5;
/** How much of a child's stderr is kept. */
const STDERR_TAIL = 4096;
/**
 * How long after a child's exit, its leftovers killed, its output pipes may stay open before the
 * bench stops reading them (a holder it could not kill: another user's process, say).
 */
const PIPE_GRACE_MS = 2000;

/** What marks each started child's processes (see leftovers.ts), for watchChild to find its leftovers by. */
const runMarks = new WeakMap<ChildProcess, Omit<RunMarks, 'group'>>();

/** How a child ended, as its parent saw it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Killed here: past its time limit, or because the caller's signal fired. */
  timedOut: boolean;
  interrupted: boolean;
  stderr: string;
  spawnError?: Error;
  /** Processes it left running when it exited, killed here: `sleep 200 (pid 4242)`. */
  lingering?: string[];
}

/**
 * Node's spawn, except that a start it refuses at once (E2BIG: an argument past the kernel's limit)
 * is reported as ENOENT is, by an 'error' event on a child with no pid, so watchChild makes it one
 * failed run (`could not start: …`) and not an exception out of the bench.
 */
export function startChild(file: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const token = newRunToken();
  try {
    const child = spawn(file, args, {
      ...options,
      env: { ...(options.env ?? process.env), [RUN_TOKEN_VARIABLE]: token },
    });
    runMarks.set(child, { token, outputs: outputsOf(child) });
    return child;
  } catch (err) {
    const unstarted = new ChildProcess();
    process.nextTick(() => unstarted.emit('error', err));
    return unstarted;
  }
}

/**
 * Watches a started child whose stderr is piped; resolves once it has ended, however it ended, and
 * never later than its time limit. A child started `detached` leads a process group, and the whole
 * group is killed: a wrapper (GNU time, a shell script) must not leave its command running. When the
 * child exits, whatever it left running (in its group, or a session of its own: see leftovers.ts) is
 * named and killed, so that a descendant holding its output open neither holds the bench nor turns
 * its exit into a timeout; its output is read until those pipes close, at most PIPE_GRACE_MS more.
 */
export function watchChild(child: ChildProcess, timeoutMs: number, signal?: AbortSignal): Promise<ChildExit> {
  return new Promise((resolve) => {
    const end: ChildExit = { code: null, signal: null, timedOut: false, interrupted: false, stderr: '' };
    let exited = false;
    let graceTimer: NodeJS.Timeout | undefined;
    let finished = false;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      end.stderr = (end.stderr + chunk).slice(-STDERR_TAIL);
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL'); // not a group leader
      }
    };
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      signal?.removeEventListener('abort', onAbort);
      // A pipe still open past the grace: its holder is not ours to wait for.
      // (A child Node refused to start, see startChild, has no stdio at all.)
      for (const stream of child.stdio ?? []) stream?.destroy();
      resolve(end);
    };
    // Past the time limit or stopped: the child killed; once it has exited, its pipes no longer waited for.
    const stop = (why: 'timedOut' | 'interrupted') => {
      if (exited) {
        if (why === 'interrupted') end.interrupted = true;
        return finish();
      }
      end[why] = true;
      killGroup();
    };
    const timer = setTimeout(() => stop('timedOut'), timeoutMs);
    const onAbort = () => stop('interrupted');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      // A failed spawn gets no 'close'; a failed kill or send does, and is explained by it.
      if (child.pid === undefined) {
        end.spawnError = err;
        finish();
      }
    });
    child.on('exit', (code, exitSignal) => {
      exited = true;
      end.code = code;
      end.signal = exitSignal;
      killLeftoversOf(child, end);
      graceTimer = setTimeout(finish, PIPE_GRACE_MS);
    });
    child.on('close', finish);
  });
}

/** Once `child` has exited: kills what it left running and names it in `end.lingering`. */
function killLeftoversOf(child: ChildProcess, end: ChildExit): void {
  const marks = { group: child.pid!, token: null, outputs: new Set<string>(), ...runMarks.get(child) };
  const leftovers = killAllLeftovers(marks);
  if (leftovers.length > 0) end.lingering = leftovers.map(describeLeftover);
  // Without /proc, the group is all there is to find; with it, this reaches one started meanwhile.
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // no group left, or the child led none
  }
}

/** Why a child that was not stopped here died, in one phrase; null if it exited 0. */
export function crashReason(end: ChildExit): string | null {
  if (end.spawnError) return `could not start: ${end.spawnError.message}`;
  if (/heap out of memory|Reached heap limit/.test(end.stderr)) return 'out of memory (JavaScript heap limit reached)';
  if (end.signal) return `killed by ${end.signal}`;
  const lastLine = (end.stderr.trim().split('\n').pop() ?? '').replace(/^error: /, '');
  if (end.code !== 0) return `exited with code ${end.code}${lastLine ? `: ${lastLine}` : ''}`;
  return null;
}

/**
 * A watcher beside a measured child, outside the timed process: it kills the child's process group
 * when the bench is gone (killed with -9, it could not) or the child has run past its timeout plus a
 * grace period. A worker stuck in a loop cannot watch its own IPC channel, and an external program
 * watches nothing; a shell loop can, and it ends within a second of the child. It is detached and
 * unreferenced, so it never holds the bench open.
 */
export function startReaper(worker: ChildProcess, timeoutMs: number): void {
  if (worker.pid === undefined) return;
  const seconds = Math.ceil(timeoutMs / 1000) + REAPER_GRACE_SECONDS;
  const script =
    'i=0; while [ "$i" -lt "$3" ] && kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; ' +
    'do sleep 1; i=$((i + 1)); done; kill -0 "$1" 2>/dev/null && kill -9 -"$1" 2>/dev/null';
  const args = ['-c', script, 'reaper', String(worker.pid), String(process.pid), String(seconds)];
  spawn('/bin/sh', args, { detached: true, stdio: 'ignore' })
    .on('error', () => {})
    .unref();
}
