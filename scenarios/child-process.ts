/**
 * Supervising a child process that runs one measurement: the tail of its stderr kept to explain a
 * crash, SIGKILL past its time limit or when the caller stops, and how it ended in one phrase.
 */
import type { ChildProcess } from 'node:child_process';

/** How much of a child's stderr is kept. */
const STDERR_TAIL = 4096;

/** How a child ended, as its parent saw it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Killed here: past its time limit, or because the caller's signal fired. */
  timedOut: boolean;
  interrupted: boolean;
  stderr: string;
  spawnError?: Error;
}

/** Watches a started child whose stderr is piped; resolves once it has ended, however it ended. */
export function watchChild(child: ChildProcess, timeoutMs: number, signal?: AbortSignal): Promise<ChildExit> {
  return new Promise((resolve) => {
    const end: ChildExit = { code: null, signal: null, timedOut: false, interrupted: false, stderr: '' };
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      end.stderr = (end.stderr + chunk).slice(-STDERR_TAIL);
    });
    const kill = (why: 'timedOut' | 'interrupted') => {
      end[why] = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timedOut'), timeoutMs);
    const onAbort = () => kill('interrupted');
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(end);
    };
    child.on('error', (err) => {
      // A failed spawn gets no 'close'; a failed kill or send does, and is explained by it.
      if (child.pid === undefined) {
        end.spawnError = err;
        finish();
      }
    });
    child.on('close', (code, exitSignal) => {
      end.code = code;
      end.signal = exitSignal;
      finish();
    });
  });
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
