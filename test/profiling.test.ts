import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EngineRegistry, ENGINES as BUILT_IN } from '../engines/registry.ts';
import { describe, expect, it } from 'vitest';
import { CommandError } from '../scripts/cli.ts';
import { profileInFreshDir, profileJob, requireHtml } from '../scripts/profiling.ts';
import { expectInputError, runScript, tempDirs } from './helpers.ts';

const ENGINES = new EngineRegistry(BUILT_IN);

const tmp = tempDirs();
// A handful of steps: enough samples for the profilers, quick to render.
const SHORT_JOB = ['--engine', 'topo', '--steps', '5', '--samples', '0'];

/** A successful profiling run: the last stdout line is an existing HTML file inside out/<engine>/. */
function reportOf(r: { status: number | null; stdout: string; stderr: string }, out: string, engine: string): string {
  expect(r.status, r.stderr).toBe(0);
  const html = r.stdout.trimEnd().split('\n').at(-1)!;
  expect(html).toMatch(/\.html$/);
  expect(existsSync(html)).toBe(true);
  expect(dirname(dirname(html))).toBe(join(out, engine));
  return html;
}

describe('npm run flame', () => {
  it('writes a flamegraph naming functions of the engine source file', () => {
    const out = tmp('flame');
    const html = reportOf(runScript('flame.ts', [...SHORT_JOB, '--out', out]), out, 'topo');
    const flamegraph = readFileSync(html, 'utf8');
    // 0x names each frame "<function> <file>:<line>:<col>" (* optimised, ~ not), the file being the
    // compiled copy of the source kept in the run folder's build/.
    const frame = (fn: string, file: string) =>
      new RegExp(`"name":"[*~]?${fn} file://${dirname(html)}/build/engines/${file}\\.js:\\d+:\\d+"`);
    expect(flamegraph).toMatch(frame('backward', 'topo'));
    expect(flamegraph).toMatch(frame('visit', 'topo'));
    expect(flamegraph).toMatch(frame('mulNode', 'value-graph'));
  });
});

describe('npm run clinic', () => {
  it('doctor writes its HTML report next to the job summary', () => {
    const out = tmp('clinic');
    const html = reportOf(runScript('clinic.ts', ['doctor', ...SHORT_JOB, '--out', out]), out, 'topo');
    expect(html).toMatch(/\.clinic-doctor\.html$/);
    expect(readFileSync(html, 'utf8')).toContain('<html');
    const job = JSON.parse(readFileSync(join(dirname(html), 'job.json'), 'utf8'));
    expect(job).toMatchObject({ engine: 'topo', steps: 5 });
    expect(job.finalLoss).toBeGreaterThan(0);
  });
});

describe('the guards against a profiler that reports success without output', () => {
  it('requireHtml fails on an empty or missing folder and finds the one report', () => {
    const dir = tmp('guard');
    expect(() => requireHtml(dir, 'clinic doctor')).toThrow(CommandError);
    expect(() => requireHtml(dir, 'clinic doctor')).toThrow(/clinic doctor produced no HTML report/);
    expect(() => requireHtml(join(dir, 'missing'), '0x')).toThrow(/0x produced no HTML report/);
    writeFileSync(join(dir, '123.clinic-doctor.html'), '<html></html>');
    expect(requireHtml(dir, 'clinic doctor')).toBe(join(dir, '123.clinic-doctor.html'));
  });

  it('a run whose job finished but whose profiler wrote no HTML fails and leaves nothing behind', async () => {
    const out = tmp('no-html');
    // The real target runs to the end, but no profiler writes a report (clinic without NO_INSIGHT).
    const runTargetOnly = async (_runDir: string, [node, ...args]: string[]) => {
      expect(spawnSync(node, args, { stdio: 'ignore' }).status).toBe(0);
    };
    const job = profileJob(ENGINES, { engine: 'topo', steps: '2', samples: '0' }, out);
    await expect(profileInFreshDir('clinic doctor', job, runTargetOnly)).rejects.toThrow(
      /clinic doctor produced no HTML report/,
    );
    expect(readdirSync(join(out, 'topo'))).toEqual([]);
  });

  it('a run whose job did not finish fails even if an HTML report was written', async () => {
    const out = tmp('no-job');
    const reportOnly = async (runDir: string) => writeFileSync(join(runDir, 'flamegraph.html'), '<html></html>');
    await expect(
      profileInFreshDir('0x', profileJob(ENGINES, { engine: 'topo', out }, 'unused'), reportOnly),
    ).rejects.toThrow(/did not finish/);
    expect(readdirSync(join(out, 'topo'))).toEqual([]);
  });
});

describe('bad input fails before any profiler starts', () => {
  const out = tmp('bad-input');
  it('flame: unknown engine', () =>
    expectInputError(
      'flame.ts',
      ['--engine', 'nope', '--out', out],
      /unknown engine 'nope'. Registered engines: topo/,
    ));
  it('clinic: unknown engine', () =>
    expectInputError(
      'clinic.ts',
      ['doctor', '--engine', 'nope', '--out', out],
      /unknown engine 'nope'. Registered engines: topo/,
    ));
  it('clinic: unknown tool', () =>
    expectInputError('clinic.ts', ['bubbleprof', '--out', out], /doctor or flame.*got 'bubbleprof'/));
  it('flame: bad --steps', () =>
    expectInputError('flame.ts', ['--steps', '0', '--out', out], /--steps expects a whole number ≥ 1/));
  it('flame: --out is a file', () => {
    const file = join(tmp('out-file'), 'a-file');
    writeFileSync(file, 'keep me\n');
    expectInputError(
      'flame.ts',
      ['--steps', '1', '--out', file],
      /^error: --out .*a-file: is a file, expected a folder$/,
    );
    expectInputError(
      'clinic.ts',
      ['doctor', '--steps', '1', '--out', join(file, 'sub')],
      /^error: --out .*a-file\/sub: cannot create the folder \(ENOTDIR\)$/,
    );
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');
  });
  it('created no report folder', () => expect(readdirSync(out)).toEqual([]));
});

describe('npm run train -- --cpu-prof', () => {
  it('writes a V8 .cpuprofile naming the engine functions and prints its path last', () => {
    const dir = tmp('cpu-prof');
    // Under tsx, as npm runs it: the profile names the TypeScript sources (a bundle's would name the bundle).
    const r = runScript('train.ts', ['--steps', '3', '--samples', '0', '--cpu-prof-dir', dir], { tsx: true });
    expect(r.status, r.stderr).toBe(0);
    const path = r.stdout
      .trimEnd()
      .split('\n')
      .at(-1)!
      .replace(/^cpu profile: /, '');
    expect(dirname(path)).toBe(dir);
    expect(path).toMatch(/topo-.*\.cpuprofile$/);
    const profile = JSON.parse(readFileSync(path, 'utf8'));
    expect(profile.samples.length).toBe(profile.timeDeltas.length);
    expect(profile.samples.length).toBeGreaterThan(0);
    const frames = profile.nodes.map((n: { callFrame: { functionName: string; url: string } }) => n.callFrame);
    expect(frames).toContainEqual(
      expect.objectContaining({ functionName: 'backward', url: expect.stringMatching(/\/engines\/topo\.ts$/) }),
    );
  });

  it('an unusable --cpu-prof-dir fails before training', () => {
    const file = join(tmp('cpu-prof-bad'), 'file');
    writeFileSync(file, '');
    expectInputError(
      'train.ts',
      ['--steps', '1', '--cpu-prof-dir', join(file, 'sub')],
      /--cpu-prof-dir .*: cannot create the folder \(ENOTDIR\)$/,
    );
  });
});
