/**
 * Issue 30, class 1: nothing is written onto what is not a plain file. Every output path of every
 * command is checked before any work (a device, FIFO, socket or folder where a file is wanted: one
 * line, exit 2), a symlink is written through to its target and kept, and engine and program names,
 * which become parts of paths, are checked where they are registered.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  closeSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEngines } from '../engines/registry.ts';
import { InputError } from '../engines/input-error.ts';
import { externalFlag } from '../scenarios/bench/external/spec.ts';
import { writeFileAtomic } from '../scenarios/files.ts';
import { scriptArgs } from './compiled-scripts.ts';
import { expectInputError, ROOT, runScript, tempDirs } from './helpers.ts';

const tmp = tempDirs();
const COMPLETE = join(ROOT, 'test/fixtures/bench-results/complete');
const isRoot = process.getuid?.() === 0;

/** /dev/null is still the machine's null device (a character device), never a file put in its place. */
function expectDevNullIntact() {
  const st = statSync('/dev/null');
  expect(st.isCharacterDevice()).toBe(true);
  expect(existsSync('/dev/null.html')).toBe(false);
}

function fifoIn(dir: string): string {
  const path = join(dir, 'pipe.md');
  execFileSync('mkfifo', [path]);
  return path;
}

describe('the safe writer itself refuses what is not a plain file (every command writes through it)', () => {
  it('a device (/dev/null), a FIFO, a folder and a socket: an InputError, the entry left as it was', async () => {
    const dir = tmp('writer');
    expect(() => writeFileAtomic('/dev/null', 'x')).toThrow(/\/dev\/null: is a character device, expected a file/);
    expectDevNullIntact();
    const fifo = fifoIn(dir);
    // Writing into a FIFO with no reader would block: this returns at once.
    expect(() => writeFileAtomic(fifo, 'x')).toThrow(/is a FIFO \(named pipe\), expected a file/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    mkdirSync(join(dir, 'folder'));
    expect(() => writeFileAtomic(join(dir, 'folder'), 'x')).toThrow(InputError);
    expect(statSync(join(dir, 'folder')).isDirectory()).toBe(true);
    const socket = join(dir, 's.sock');
    const server = createServer();
    await new Promise<void>((done) => server.listen(socket, done));
    try {
      expect(() => writeFileAtomic(socket, 'x')).toThrow(/is a socket, expected a file/);
    } finally {
      server.close();
    }
    expect(existsSync(join(dir, 'folder', 'x'))).toBe(false);
  });

  it.runIf(isRoot)('a device node of our own (mknod, a copy of /dev/null in a temp folder) stays a device', () => {
    const node = join(tmp('mknod'), 'null');
    execFileSync('mknod', [node, 'c', '1', '3']);
    expect(() => writeFileAtomic(node, 'x')).toThrow(/is a character device/);
    expect(lstatSync(node).isCharacterDevice()).toBe(true);
  });

  it('a symlink to a file: target replaced, link kept; a link to a device or to nothing refused', () => {
    const dir = tmp('links');
    mkdirSync(join(dir, 'real'));
    const target = join(dir, 'real', 'report.md');
    writeFileSync(target, 'old\n');
    const link = join(dir, 'link.md');
    symlinkSync(target, link);
    writeFileAtomic(link, 'new\n');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(target, 'utf8')).toBe('new\n');
    const toNull = join(dir, 'null.md');
    symlinkSync('/dev/null', toNull);
    expect(() => writeFileAtomic(toNull, 'x')).toThrow(/is a symlink to a character device/);
    expectDevNullIntact();
    const broken = join(dir, 'broken.md');
    symlinkSync(join(dir, 'nowhere', 'x.md'), broken);
    expect(() => writeFileAtomic(broken, 'x')).toThrow(/broken link/);
    expect(lstatSync(broken).isSymbolicLink()).toBe(true);
  });
});

describe('commands check every output path before any run: one line, exit 2', () => {
  it('the instance: bench:all --report /dev/null (and /dev/null.html beside it) refused, /dev/null intact', () => {
    expectInputError(
      'bench-all.ts',
      ['--engines', 'topo', '--steps', '1', '--trials', '1', '--out', join(tmp('bench'), 'r'), '--report', '/dev/null'],
      /^error: --report \/dev\/null: is a character device, expected a file$/,
    );
    expectDevNullIntact();
  });

  it('the instance: report DIR --output /dev/null; and a symlink given as --output is written through', () => {
    expectInputError('report.ts', [COMPLETE, '--output', '/dev/null'], /^error: --output \/dev\/null: is a character/);
    expectDevNullIntact();
    const dir = tmp('report-link');
    const target = join(dir, 'target.md');
    writeFileSync(target, 'old\n');
    const link = join(dir, 'link.md');
    symlinkSync(target, link);
    const r = runScript('report.ts', [COMPLETE, '--output', link]);
    expect(r.status, r.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toMatch(/^# /);
  });

  it('a FIFO as compare --output, a folder as the HTML page beside bench:all --report X: refused', () => {
    const dir = tmp('cmds');
    const fifo = fifoIn(dir);
    const copy = join(dir, 'complete-again');
    cpSync(COMPLETE, copy, { recursive: true });
    expectInputError(
      'compare.ts',
      [COMPLETE, copy, '--format', 'md', '--output', fifo],
      /^error: --output .*pipe\.md: is a FIFO \(named pipe\), expected a file$/,
    );
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    // The derived path: --report X writes X.md and X.html; X.html here is a folder.
    mkdirSync(join(dir, 'page.html'));
    expectInputError(
      'bench-all.ts',
      ['--engines', 'topo', '--steps', '1', '--out', join(dir, 'r'), '--report', join(dir, 'page.md')],
      /^error: --report .*page\.html: is a folder, expected a file$/,
    );
    expect(existsSync(join(dir, 'r'))).toBe(false);
  });

  // The instance: `report DIR --output /dev/stdout --format md,json`, stdout sent to a file, wrote
  // /dev/stdout.md and /dev/stdout.json (the files were named after the link, not its target).
  it('files named after a report go beside what it names, never into /dev', () => {
    const dir = tmp('stdout-base');
    const captured = join(dir, 'captured.txt');
    const fd = openSync(captured, 'w');
    let r: SpawnSyncReturns<string>;
    try {
      const args = scriptArgs('report.ts', [COMPLETE, '--output', '/dev/stdout', '--format', 'md,json'], process.env);
      r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
    } finally {
      closeSync(fd);
    }
    expect(r.status, r.stderr).toBe(0);
    expect(['/dev/stdout.md', '/dev/stdout.json'].filter((path) => existsSync(path))).toEqual([]);
    expect(readFileSync(`${captured}.md`, 'utf8')).toMatch(/^# /);
    expect(JSON.parse(readFileSync(`${captured}.json`, 'utf8'))).toBeTypeOf('object');

    // One made up: a report named through a link in another folder; its page goes beside the target.
    mkdirSync(join(dir, 'runs'));
    writeFileSync(join(dir, 'runs', 'target.md'), 'old\n');
    symlinkSync(join(dir, 'runs', 'target.md'), join(dir, 'latest.md'));
    const linked = runScript('report.ts', [COMPLETE, '--output', join(dir, 'latest.md'), '--format', 'md,html']);
    expect(linked.status, linked.stderr).toBe(0);
    expect(lstatSync(join(dir, 'latest.md')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'runs', 'target.md'), 'utf8')).toMatch(/^# /);
    expect(readFileSync(join(dir, 'runs', 'target.html'), 'utf8')).toContain('<html');
    expect(existsSync(join(dir, 'latest.html'))).toBe(false);
  });

  it('/dev/stdout to a pipe or socket where a report goes: refused, saying which (it was called a broken link)', () => {
    // A child's piped stdout is a socket pair here (libuv's pipes), a FIFO in a shell pipeline.
    const job = ['--engines', 'topo', '--steps', '1', '--trials', '1', '--out', join(tmp('stdout-pipe'), 'r')];
    expectInputError(
      'bench-all.ts',
      [...job, '--report', '/dev/stdout'],
      /^error: --report \/dev\/stdout: is a symlink to a socket \(\/proc\/self\/fd\/1\), expected a file$/,
    );
    expect(existsSync('/dev/stdout.html')).toBe(false);
  });

  it('a FIFO where train --cpu-prof-dir wants a folder: refused before the job', () =>
    expectInputError(
      'train.ts',
      ['--engine', 'topo', '--steps', '1', '--cpu-prof', '--cpu-prof-dir', fifoIn(tmp('cpuprof'))],
      /^error: --cpu-prof-dir .*: is a FIFO \(named pipe\), expected a folder$/,
    ));
});

describe('engine and program names are checked where they are registered', () => {
  it('the instance: a plugin engine named ../../../tmp/x stops flame before anything is written', () => {
    const dir = tmp('plugin-name');
    const module = join(dir, 'engines.mjs');
    writeFileSync(
      module,
      "export const engines = [{ name: '../../../tmp/x', description: 'd', study: 's', create: () => null }];\n",
    );
    const r = runScript('flame.ts', ['--engine', '../../../tmp/x', '--steps', '1', '--out', join(dir, 'out')], {
      env: { MICROGPT_BENCH_ENGINES: module },
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/engine name "\.\.\/\.\.\/\.\.\/tmp\/x" has a \/ or \\/),
    ]);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('names refused: plugins empty, with a control character, a \\ or 300 letters; programs with ..', async () => {
    const dir = tmp('names');
    // 300 letters: flame made <out>/<name>/ and failed with ENAMETOOLONG and a stack trace.
    for (const [i, name] of ['', 'a\u001b[2Jb', 'a\\b', 'nul\u0000', 'e'.repeat(300)].entries()) {
      const module = join(dir, `m${i}.mjs`);
      const engine = `{ name: ${JSON.stringify(name)}, description: 'd', study: 's', create: () => null }`;
      writeFileSync(module, `export const engines = [${engine}];\n`);
      await expect(loadEngines(module)).rejects.toThrow(
        /engine name .* (is empty|has a control character|has a \/|is 300 bytes long, over 100)/,
      );
    }
    expect(() => externalFlag('..=python3 microgpt.py')).toThrow(/name "\.\." is '\.' or has '\.\.'/);
    expect(() => externalFlag('a..b=python3 microgpt.py')).toThrow(InputError);
    expect(() => externalFlag(`${'p'.repeat(101)}=python3 microgpt.py`)).toThrow(/is 101 bytes long, over 100/);
    expect(externalFlag(`${'p'.repeat(100)}=python3 microgpt.py`).name).toHaveLength(100);
    expect(externalFlag('microgpt.py=python3 microgpt.py').name).toBe('microgpt.py');
  });
});
