import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectInputError as expectScriptInputError, runScript } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'mgb-train-cli-'));
const empty = join(dir, 'empty.txt');
writeFileSync(empty, '\n   \n\n');
const binary = join(dir, 'latin1.txt');
writeFileSync(binary, Buffer.from([0x61, 0x6e, 0x6e, 0x61, 0x0a, 0xe9, 0x6c, 0x69, 0x65, 0x0a]));

const expectInputError = (args: string[], message: RegExp) => expectScriptInputError('train.ts', args, message);

describe('npm run train: bad input', () => {
  it('unknown engine lists the registered engines', () => expectInputError(['--engine', 'nope'], /unknown engine 'nope'.*topo/));
  it('--steps 0', () => expectInputError(['--steps', '0'], /--steps expects a whole number ≥ 1, got '0'/));
  it('--steps -3', () => expectInputError(['--steps', '-3'], /--steps .*-3/));
  it('--steps abc', () => expectInputError(['--steps', 'abc'], /--steps expects a whole number ≥ 1, got 'abc'/));
  it('an unknown flag lists the valid ones', () => expectInputError(['--bogus'], /Unknown option '--bogus'.*Valid options: .*--engine/));
  it('a missing file', () => expectInputError(['--data', join(dir, 'missing.txt')], /missing\.txt: no such file/));
  it('a directory', () => expectInputError(['--data', dir], /is a directory/));
  it('a file with no documents', () => expectInputError(['--data', empty], /empty\.txt: contains no documents/));
  it('a file that is not UTF-8', () => expectInputError(['--data', binary], /latin1\.txt: not valid UTF-8/));
  it('--n-head must divide --n-embd', () => expectInputError(['--n-head', '3'], /--n-head 3 must divide --n-embd 16/));
});

describe('npm run train: output', () => {
  it('--json prints one object with the documented fields', () => {
    const r = runScript('train.ts', ['--steps', '3', '--samples', '2', '--json']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]);
    for (const key of ['engine', 'config', 'seed', 'dataset', 'vocabSize', 'numParams', 'losses', 'finalLoss', 'meanLossLast100', 'samples', 'nodesPerStep', 'edgesPerStep', 'timingMs', 'memory']) {
      expect(j).toHaveProperty(key);
    }
    expect(j.engine).toBe('topo');
    expect(j.dataset.source).toMatch(/^embedded:/);
    expect(j.losses).toHaveLength(3);
    expect(j.samples).toHaveLength(2);
    const t = j.timingMs;
    expect(t.forward + t.softmax + t.backward + t.update).toBeCloseTo(t.total, 6);
    expect(t.softmax).toBeGreaterThan(0);
    expect(j.memory.peakHeapBytes).toBeGreaterThan(0);
  });

  it('--help describes every flag', () => {
    const r = runScript('train.ts', ['--help']);
    expect(r.status).toBe(0);
    for (const flag of ['--engine', '--steps', '--data', '--seed', '--json', '--temperature']) expect(r.stdout).toContain(flag);
  });
});
