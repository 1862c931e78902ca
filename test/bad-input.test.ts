/**
 * A bad-input sweep: every command × a table of bad flags, data files and output paths. Each must
 * end in one line on stderr and exit code 2: no stack trace, nothing on stdout, nothing written.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, SPAWN_GUARD_MS, tempDirs } from './helpers.ts';
import { scriptArgs } from './compiled-scripts.ts';

const tmp = tempDirs()('bad-input');
const file = join(tmp, 'a-file');
const emptyData = join(tmp, 'empty.txt');
const binaryData = join(tmp, 'binary.txt');
writeFileSync(file, 'not a folder\n');
writeFileSync(emptyData, '\n\n');
writeFileSync(binaryData, Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a]));

/** A command, what it needs before its flags, and the flags that send all its output under `dir`. */
const COMMANDS: Record<string, { script: string; lead: string[]; outputs: (dir: string) => string[] }> = {
  train: { script: 'train.ts', lead: [], outputs: (d) => ['--cpu-prof-dir', join(d, 'prof')] },
  gradcheck: { script: 'gradcheck.ts', lead: [], outputs: () => [] },
  'bench:all': {
    script: 'bench-all.ts',
    lead: [],
    outputs: (d) => ['--out', join(d, 'out'), '--report', join(d, 'r.md')],
  },
  flame: { script: 'flame.ts', lead: [], outputs: (d) => ['--out', join(d, 'flame')] },
  clinic: { script: 'clinic.ts', lead: ['doctor'], outputs: (d) => ['--out', join(d, 'clinic')] },
  'bench:micro': {
    script: 'bench-micro.ts',
    lead: [],
    outputs: (d) => ['--results-dir', join(d, 'results'), '--reports-dir', join(d, 'reports')],
  },
  report: {
    script: 'report.ts',
    lead: ['test/fixtures/bench-results/complete'],
    outputs: (d) => ['--output', join(d, 'r.md')],
  },
};

/** Bad data files: each command that reads one gets one of them in turn (all go through one loader). */
const DATA_INPUTS: [string, string[], RegExp][] = [
  ['a missing data file', ['--data', join(tmp, 'missing.txt')], /^error: --data .*missing\.txt: /],
  ['a folder as data', ['--data', tmp], /^error: --data .*: /],
  ['a data file with no documents', ['--data', emptyData], /^error: --data .*empty\.txt: /],
  ['a data file that is not UTF-8', ['--data', binaryData], /^error: --data .*binary\.txt: /],
];
/** Bad job flags, likewise in turn over the commands that run the job (all go through one parser). */
const JOB_FLAG_INPUTS: [string, string[], RegExp][] = [
  ['zero steps', ['--steps', '0'], /^error: --steps expects a whole number ≥ 1, got '0'$/],
  ['a head count that does not divide the width', ['--n-head', '3'], /^error: --n-head 3 must divide --n-embd 16$/],
  ['a learning rate below zero', ['--lr', '-1'], /^error: --lr expects a number > 0, got '-1'$/],
];
/** Output locations that cannot be used, by the output flag they replace. */
const OUTPUT_INPUTS: [string, (flag: string) => string[], RegExp][] = [
  ['an output under a file', (flag) => [flag, join(file, 'x')], /a-file: is a file, expected a folder$|: cannot/],
  ['an output under /proc', (flag) => [flag, '/proc/new/x'], /\(ENOENT\)$/],
];

interface Case {
  name: string;
  command: string;
  args: (dir: string) => string[];
  message: RegExp;
}

const cases: Case[] = [];
const JOB_COMMANDS = ['train', 'gradcheck', 'bench:all', 'flame', 'clinic'];
Object.entries(COMMANDS).forEach(([command, c], i) => {
  const add = (name: string, bad: string[], message: RegExp) =>
    cases.push({ name: `${command}: ${name}`, command, args: (d) => [...c.lead, ...c.outputs(d), ...bad], message });
  add('an unknown flag', ['--no-such-flag'], /^error: Unknown option '--no-such-flag'\. Valid options: /);
  if (command === 'report') {
    add('an unknown format', ['--format', 'xml'], /^error: --format: unknown 'xml'/);
    add('a flag given twice', ['--format', 'md', '--format', 'csv'], /^error: --format is given more than once$/);
    return;
  }
  add('a flag given twice', ['--data', emptyData, '--data', binaryData], /^error: --data is given more than once$/);
  const oneEngine = command === 'train' || command === 'flame' || command === 'clinic';
  add('an unknown engine', oneEngine ? ['--engine', 'nope'] : ['--engines', 'nope'], /unknown (engine )?'nope'/);
  const [dataName, dataArgs, dataMessage] = DATA_INPUTS[i % DATA_INPUTS.length];
  add(dataName, dataArgs, dataMessage);
  if (JOB_COMMANDS.includes(command)) add(...JOB_FLAG_INPUTS[i % JOB_FLAG_INPUTS.length]);
});
for (const [command, c] of Object.entries(COMMANDS)) {
  const flags = c.outputs('/unused').filter((a) => a.startsWith('--'));
  for (const flag of flags) {
    for (const [name, bad, message] of OUTPUT_INPUTS) {
      cases.push({ name: `${command}: ${name} (${flag})`, command, args: () => [...c.lead, ...bad(flag)], message });
    }
  }
}

function run(script: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, scriptArgs(script, args, process.env), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: SPAWN_GUARD_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('bad input to every command', () => {
  const outcomes = new Map<Case, { status: number | null; stdout: string; stderr: string; written: string[] }>();

  it(`runs ${cases.length} cases`, async () => {
    const queue = [...cases];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const dir = join(tmp, `case-${cases.indexOf(c)}`);
        mkdirSync(dir);
        const r = await run(COMMANDS[c.command].script, c.args(dir));
        outcomes.set(c, { ...r, written: existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [] });
      }
    };
    // Two at a time: the other test files run beside this one on a 2-core machine.
    await Promise.all([worker(), worker()]);
    expect(outcomes.size).toBe(cases.length);
  });

  for (const c of cases) {
    it(c.name, () => {
      const r = outcomes.get(c);
      expect(r, 'not run').toBeDefined();
      expect(r!.status, r!.stderr).toBe(2);
      expect(r!.stdout).toBe('');
      expect(r!.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(c.message)]);
      expect(r!.stderr).not.toMatch(/\n\s+at /);
      expect(r!.written, 'nothing written').toEqual([]);
    });
  }
});
