import { closeSync, ftruncateSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectInputError as expectScriptInputError, runScript, tempDirs } from './helpers.ts';

const dir = tempDirs()('train-cli');
const empty = join(dir, 'empty.txt');
writeFileSync(empty, '\n   \n\n');
const binary = join(dir, 'latin1.txt');
writeFileSync(binary, Buffer.from([0x61, 0x6e, 0x6e, 0x61, 0x0a, 0xe9, 0x6c, 0x69, 0x65, 0x0a]));

// 300 MiB of holes: no disk used, and the size check refuses it without reading a byte.
const huge = join(dir, 'huge.txt');
const hugeFd = openSync(huge, 'w');
ftruncateSync(hugeFd, 300 * 1024 * 1024);
closeSync(hugeFd);

const expectInputError = (args: string[], message: RegExp) => expectScriptInputError('train.ts', args, message);

describe('npm run train: bad input', () => {
  it('unknown engine lists the registered engines', () =>
    expectInputError(['--engine', 'nope'], /unknown engine 'nope'.*topo/));
  it('--steps 0', () => expectInputError(['--steps', '0'], /--steps expects a whole number ≥ 1, got '0'/));
  it('--steps -3', () => expectInputError(['--steps', '-3'], /--steps .*-3/));
  it('--steps abc', () => expectInputError(['--steps', 'abc'], /--steps expects a whole number ≥ 1, got 'abc'/));
  it('an unknown flag lists the valid ones', () =>
    expectInputError(['--bogus'], /Unknown option '--bogus'.*Valid options: .*--engine/));
  it('a missing file', () => expectInputError(['--data', join(dir, 'missing.txt')], /missing\.txt: no such file/));
  it('a directory', () => expectInputError(['--data', dir], /is a directory/));
  it('a file with no documents', () => expectInputError(['--data', empty], /empty\.txt: contains no documents/));
  it('a file that is not UTF-8', () => expectInputError(['--data', binary], /latin1\.txt: not valid UTF-8/));
  it('a file over the 256 MiB limit says so, not "not valid UTF-8"', () =>
    expectInputError(['--data', huge], /huge\.txt: larger than the 256 MiB limit \(300 MiB\)$/));
  it('--n-head must divide --n-embd', () => expectInputError(['--n-head', '3'], /--n-head 3 must divide --n-embd 16/));
});

describe('npm run train: output', () => {
  it('--json prints one object with the documented fields', () => {
    const r = runScript('train.ts', ['--steps', '3', '--samples', '2', '--json']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]);
    const positive = expect.any(Number);
    expect(j).toMatchObject({
      engine: 'topo',
      config: { steps: 3, seed: 42, nLayer: 1, nEmbd: 16, blockSize: 16, nHead: 4, samples: 2 },
      seed: 42,
      dataset: {
        source: expect.stringMatching(/^embedded:/),
        docs: 8422,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
      vocabSize: 28,
      numParams: 4224,
      nodesPerStep: { mean: positive, max: positive },
      edgesPerStep: { mean: positive, max: positive },
      timingMs: { total: positive, forward: positive, softmax: positive, backward: positive, update: positive },
      memory: { peakRssBytes: positive, peakHeapBytes: positive },
    });
    expect(j).not.toHaveProperty('status'); // only a diverged run's object has one
    expect(j.losses).toHaveLength(3);
    expect(j.finalLoss).toBe(j.losses[2]);
    expect(j.meanLossLast100).toBeCloseTo((j.losses[0] + j.losses[1] + j.losses[2]) / 3, 12);
    expect(j.samples).toHaveLength(2);
    expect(j.nodesPerStep.max).toBeGreaterThanOrEqual(j.nodesPerStep.mean);
    expect(j.edgesPerStep.mean).toBeGreaterThan(j.nodesPerStep.mean);
    const t = j.timingMs;
    expect(t.forward + t.softmax + t.backward + t.update).toBeCloseTo(t.total, 6);
    expect(j.memory.peakRssBytes).toBeGreaterThan(j.memory.peakHeapBytes);
  });

  it('--no-timers times the whole step only: the phases are null', () => {
    const r = runScript('train.ts', ['--steps', '2', '--samples', '0', '--json', '--no-timers']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).timingMs).toEqual({
      total: expect.any(Number),
      forward: null,
      softmax: null,
      backward: null,
      update: null,
    });
  });

  it('--log-every N prints the step line every N steps, and the last step once', () => {
    const r = runScript('train.ts', ['--engine', 'tape', '--steps', '5', '--log-every', '2', '--samples', '0']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('step '))).toEqual([
      expect.stringMatching(/^step {4}2 \/ {4}5 \| loss \d\.\d{4}$/),
      expect.stringMatching(/^step {4}4 \/ {4}5 \| loss /),
      expect.stringMatching(/^step {4}5 \/ {4}5 \| loss /),
    ]);
  });
});
