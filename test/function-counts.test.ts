/**
 * Per-function counts from a hand-written callgrind file and perf map (test/fixtures/function-counts):
 * JIT addresses named by the map with the newest entry before the steps' end winning, cost under an
 * address older code shared during the steps marked contested, calls' inclusive cost left out,
 * native symbols grouped; and compare's per-function change summing to the engine's change.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCounts } from '../scenarios/bench/counts/callgrind.ts';
import {
  AddressOwners,
  parsePerfMap,
  perfMapFunction,
  readFunctionProfile,
  type FunctionProfile,
} from '../scenarios/bench/counts/functions.ts';
import { perfMapPath, perfMarksPath } from '../scenarios/bench/counts/perf-map.ts';
import { functionChanges } from '../scenarios/compare/functions.ts';
import { functionPage } from '../scenarios/output/export/function-page.ts';
import { ROOT, tempDirs } from './helpers.ts';

const FIXTURES = join(ROOT, 'test/fixtures/function-counts');
const CALLGRIND = join(FIXTURES, 'callgrind.out');
const MAP_TEXT = readFileSync(join(FIXTURES, 'perf.map'), 'utf8');
/** The steps began after the map's third line and ended after its fourth (the fifth came later). */
const lineOffset = (n: number) => MAP_TEXT.split('\n').slice(0, n).join('\n').length + 1;
const MARKS = { start: lineOffset(3), end: lineOffset(4) };
const tmp = tempDirs();

const byName = (p: FunctionProfile) => Object.fromEntries(p.functions.map((f) => [f.name, f]));

describe('per-function counts', () => {
  const profile = readFunctionProfile([CALLGRIND], new AddressOwners(parsePerfMap(MAP_TEXT), MARKS));
  const f = byName(profile);

  it('sums each function’s own cost, leaving out the inclusive cost of its calls', () => {
    expect(f['Builtins_LoadIC']).toMatchObject({ group: 'V8 builtins', instructions: 16 });
    expect(f['memset']).toMatchObject({ group: 'libc.so.6', instructions: 20 });
    // An address in a stripped binary: its file is known, its function is not.
    expect(f['(no symbol) dash']).toMatchObject({ group: 'dash', instructions: 11 });
    expect(f['v8::internal::Runtime_StackGuard(int, unsigned long*, v8::internal::Isolate*)']).toMatchObject({
      group: 'V8 runtime',
      instructions: 1000,
    });
    // A function that cost nothing is not listed.
    expect(Object.keys(f).some((n) => n.includes('GraphReducer'))).toBe(false);
  });

  it('names JIT code by the perf map: the newest entry before the steps’ end wins, tiers kept apart', () => {
    // 0x5000 is in both hot entries: the turbofan one (written in the steps) wins; 0x5090 and 0x5094
    // are in the interpreted one alone.
    expect(f['hot (t.js)']).toMatchObject({ group: 'JavaScript', instructions: 142, location: '1:13' });
    expect(f['hot (t.js)'].tiers).toEqual({
      turbofan: { instructions: 100, estimatedCycles: 115 - 2 + 5 + 35 },
      interpreted: { instructions: 42, estimatedCycles: 46 },
    });
    // `late` was written after the steps: the range is cold's; the chunk's content hash is left out.
    expect(f['cold (chunk.mjs)']).toMatchObject({ instructions: 53, tiers: { turbofan: { instructions: 53 } } });
    expect(f['late (t.js)']).toBeUndefined();
    expect(f['wasm-function[3] (wasm)']).toMatchObject({ group: 'WebAssembly', instructions: 30 });
  });

  it('reports unattributed and contested cost, and every function sums to the total', () => {
    expect(profile.unattributed.instructions).toBe(7);
    expect(profile.contested.instructions).toBe(100);
    expect(profile.total).toEqual({ instructions: 1279, estimatedCycles: expect.any(Number) });
    const sum = profile.functions.reduce((s, x) => s + x.instructions, 0);
    expect(sum).toBe(1279);
    expect(profile.functions.reduce((s, x) => s + x.estimatedCycles, 0)).toBe(profile.total.estimatedCycles);
  });

  it('without marks every entry counts, and the latest one wins', () => {
    const whole = byName(readFunctionProfile([CALLGRIND], new AddressOwners(parsePerfMap(MAP_TEXT))));
    expect(whole['late (t.js)'].instructions).toBe(53);
    expect(whole['cold (chunk.mjs)']).toBeUndefined();
  });

  it('reads perf map names', () => {
    expect(perfMapFunction('JS:^ file:///a/b.mjs:3:4')).toMatchObject({
      name: '(anonymous b.mjs:3) (b.mjs)',
      tier: 'sparkplug',
    });
    expect(perfMapFunction('JS:+f node:internal/x:1:2')).toMatchObject({ name: 'f (node:internal/x)', tier: 'maglev' });
    expect(perfMapFunction('Builtin:LoadIC')).toEqual({ name: 'Builtins_LoadIC', group: 'V8 builtins' });
    expect(perfMapFunction('JS:wasm-to-js:d:d-2-turbofan')).toMatchObject({ group: 'WebAssembly' });
  });

  it('a count folder: the training part per function, the perf map and marks removed once read', () => {
    const dir = tmp('callgrind');
    const pid = '4000000001';
    const text = readFileSync(CALLGRIND, 'utf8');
    writeFileSync(join(dir, `callgrind.${pid}.1-01`), text.replace('part: 2', 'part: 1'));
    copyFileSync(CALLGRIND, join(dir, `callgrind.${pid}.2-01`));
    writeFileSync(join(dir, `callgrind.${pid}-01`), text.replace('part: 2', 'part: 3'));
    writeFileSync(perfMapPath(pid), MAP_TEXT);
    writeFileSync(perfMarksPath(pid), `${MARKS.start} ${MARKS.end}\n`);
    const counts = readCounts(dir)!;
    expect(counts.training!.instructions).toBe(1279);
    expect(counts.whole.instructions).toBe(3 * 1279);
    expect(byName(counts.functions!)['hot (t.js)'].instructions).toBe(142);
    expect(existsSync(perfMapPath(pid))).toBe(false);
    expect(existsSync(perfMarksPath(pid))).toBe(false);
  });

  it('compare: the functions that changed most, the rest summed, add up to the change', () => {
    const more = {
      ...profile,
      total: { instructions: 1279 + 90, estimatedCycles: profile.total.estimatedCycles + 100 },
      functions: profile.functions.map((x) =>
        x.name === 'cold (chunk.mjs)'
          ? { ...x, estimatedCycles: x.estimatedCycles + 95 }
          : x.name === 'memset'
            ? { ...x, estimatedCycles: x.estimatedCycles + 5 }
            : x,
      ),
    };
    const changes = functionChanges(profile, more, { base: 2, new: 2 }, 1);
    expect(changes.change).toBe(50);
    expect(changes.top).toHaveLength(1);
    expect(changes.top[0]).toMatchObject({ name: 'cold (chunk.mjs)', change: 47.5, ofChange: 0.95 });
    expect(changes.top[0].ofTotal).toBeCloseTo(47.5 / (profile.total.estimatedCycles / 2), 12);
    expect(changes.rest).toMatchObject({ change: 2.5 });
    expect(changes.top[0].change + changes.rest.change).toBe(changes.change);
  });

  it('flame --counts’ page: an icicle and the costliest functions with their tiers', async () => {
    const page = await functionPage('tape', profile, 2, 'job');
    expect(page).toMatch(/<figure id="function-icicle"><svg/);
    expect(page).toMatch(/<td>hot \(t\.js\)<\/td><td>JavaScript<\/td><td>[^<]+<\/td><td>[^<]+<\/td><td>71<\/td>/);
    expect(page).toMatch(/turbofan \d+\.\d+%, interpreted \d+\.\d+%/);
  });

  it('a file without a positions line has lines for positions (the format’s default), no addresses', () => {
    const file = join(tmp('no-positions'), 'callgrind.out');
    writeFileSync(file, 'events: Ir Dr\nob=(1) ???\nfn=(1) main\n16 5 2\nfn=(2) 0x0000000000005000\n17 3\n');
    const p = readFunctionProfile([file], new AddressOwners(parsePerfMap(MAP_TEXT)));
    expect(byName(p)['main']).toMatchObject({ instructions: 5 });
    expect(p.unattributed.instructions).toBe(3);
  });
});
