/**
 * What a whole process cost, the same way for an engine's worker and for an external program: user
 * and system CPU time and peak RSS, as the kernel reports them when the process is reaped (wait4's
 * rusage, which covers the process and every descendant it waited for). Node cannot read a child's
 * rusage, so the command runs under GNU time (Debian package `time`), which writes it to a file.
 * Without GNU time the figures are null and every run says why.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessCost } from './job-kind.ts';

const GNU_TIME = '/usr/bin/time';
const FORMAT = '%U %S %M';

/** What GNU time reports; maxRssBytes is the largest peak of any one process in the tree, not their sum (ru_maxrss). */
export type MeteredCost = Pick<ProcessCost, 'userMs' | 'systemMs' | 'maxRssBytes' | 'counts'>;

export const UNMEASURED: MeteredCost = { userMs: null, systemMs: null, maxRssBytes: null, counts: null };

/** What GNU time read, and the signal that ended the command if one did (GNU time itself then exits 128+n). */
export type Metered = MeteredCost & { readonly signal: NodeJS.Signals | null };

export interface ResourceMeter {
  /** The argv that runs `argv` measured, its figures to be read by `read` once it has ended. */
  wrap(argv: readonly string[]): { argv: string[]; read(): Metered | null };
  /** Flags for a Node process it measures, and environment variables for any process (none by default). */
  readonly nodeFlags?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Environment variables a process it measures runs without. */
  readonly unsetEnv?: readonly string[];
  dispose(): void;
}

/** A measured process's environment: ours, the meter's variables set and unset, then the run's own (`extra`). */
export function meteredEnv(
  meter: ResourceMeter | null,
  extra: Readonly<Record<string, string>> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...meter?.env };
  for (const name of meter?.unsetEnv ?? []) delete env[name];
  return { ...env, ...extra };
}

let gnuTime: boolean | undefined;

/** Whether GNU time is installed (checked once). */
export function hasGnuTime(): boolean {
  if (gnuTime === undefined) {
    try {
      gnuTime = execFileSync(GNU_TIME, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).includes(
        'GNU',
      );
    } catch {
      gnuTime = false;
    }
  }
  return gnuTime;
}

/** A meter whose files live in a temporary folder of its own; null without GNU time. */
export function resourceMeter(): ResourceMeter | null {
  if (!hasGnuTime()) return null;
  const dir = mkdtempSync(join(tmpdir(), 'microgpt-bench-time-'));
  let runs = 0;
  return {
    wrap(argv) {
      const file = join(dir, `run-${++runs}.txt`);
      return {
        argv: [GNU_TIME, '-f', FORMAT, '-o', file, ...argv],
        read() {
          try {
            return parseTimeOutput(readFileSync(file, 'utf8'));
          } catch {
            return null; // killed before GNU time could write (a timeout kills the whole group)
          } finally {
            rmSync(file, { force: true });
          }
        },
      };
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A measured child's end as GNU time saw it, and its figures: a death by a signal shows only in GNU
 * time's report (GNU time itself then exits 128+n), so the signal is taken from there.
 */
export function meteredEnd<E extends MeteredChildEnd>(
  end: E,
  metered: Metered | null | undefined,
): { end: E; cost: MeteredCost } {
  const { userMs, systemMs, maxRssBytes, counts } = metered ?? UNMEASURED;
  const signalled = metered?.signal ? { ...end, code: null, signal: metered.signal } : end;
  return { end: notStarted(signalled), cost: { userMs, systemMs, maxRssBytes, counts } };
}

/** The parts of a child's end that metering may rewrite. */
interface MeteredChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr?: string;
  spawnError?: Error;
}

/** GNU time's last words when it could not start the command (it then exits 127, or 126 if not executable). */
const CANNOT_RUN = new RegExp(`^${GNU_TIME}: cannot run (.+)$`);

/**
 * A command GNU time could not start ended as a command Node could not start does (`spawnError`),
 * so its reason names the command, not GNU time: `could not start: ./nothere: No such file or
 * directory`, where it read `exited with code 127: /usr/bin/time: cannot run ./nothere: …`.
 */
function notStarted<E extends MeteredChildEnd>(end: E): E {
  if (end.code !== 126 && end.code !== 127) return end;
  const why = CANNOT_RUN.exec((end.stderr ?? '').trimEnd().split('\n').at(-1) ?? '');
  return why ? { ...end, spawnError: new Error(why[1]) } : end;
}

/** GNU time's file: maybe "Command exited with non-zero status 3" or "… terminated by signal 6", then our line. */
export function parseTimeOutput(text: string): Metered | null {
  const lines = text.trim().split('\n');
  const figures = lines.at(-1)?.trim().split(/\s+/).map(Number) ?? [];
  if (figures.length !== 3 || figures.some((x) => !Number.isFinite(x))) return null;
  const [user, system, maxRssKiB] = figures;
  const signalNumber = Number(/terminated by signal (\d+)/.exec(text)?.[1]);
  const signal = (Object.keys(constants.signals) as NodeJS.Signals[]).find(
    (name) => constants.signals[name] === signalNumber,
  );
  return {
    ...UNMEASURED,
    userMs: Math.round(user * 1000),
    systemMs: Math.round(system * 1000),
    maxRssBytes: maxRssKiB * 1024,
    signal: signal ?? null,
  };
}
