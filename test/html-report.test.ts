/**
 * The HTML report: written from saved folders (also an interrupted one) with its charts as inline
 * SVG, small, self-contained, and checked where people open it: in a real browser from file://.
 * losses.csv, the curves' data for any other tool, round-trips to runs.jsonl.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../scenarios/bench/job-kind.ts';
import { readResultsFolder, type ResultsFolder } from '../scenarios/bench/results.ts';
import type { TrainResult } from '../scenarios/train.ts';
import { lossesCsv } from '../scenarios/output/export/csv.ts';
import { htmlReport } from '../scenarios/output/export/html.ts';
import { verdictOf } from '../scenarios/output/charts/specs.ts';
import { summarize } from '../scenarios/bench/summary.ts';
import { CHROMIUM, inChromium } from './browser.ts';
import { rawResults, runScript, syncText, tempDirs } from './helpers.ts';

const COMPLETE = 'test/fixtures/bench-results/complete';
const INTERRUPTED = 'test/fixtures/bench-results/interrupted';
const tmp = tempDirs();

/** The complete fixture stretched to the size the page must handle: 7 engines × 3 trials × 1000 steps. */
function bigFolder(): ResultsFolder {
  const folder = readResultsFolder(COMPLETE);
  const steps = 1000;
  const template = folder.runs.find((r) => r.kind === 'train' && r.status === 'ok') as RunRecord<TrainResult> & {
    status: 'ok';
  };
  const engines = ['topo', 'stack', 'fused', 'fused-stack', 'pending', 'tape', 'tensor'];
  const runs = engines.flatMap((engine, e) =>
    [1, 2, 3].map((trial) => {
      const losses = Array.from({ length: steps }, (_, i) => 3.3 - i / 1000 + Math.sin(i * (e + 1) + trial) * 0.3);
      return { ...template, engine, trial, warmup: false, result: { ...template.result, engine, losses } };
    }),
  );
  const env = { ...folder.env, config: { ...folder.env.config, steps } };
  return { ...folder, env: { ...env, bench: { ...env.bench, trials: 3, externals: [] } }, runs };
}

describe('the HTML report, in Node', () => {
  it('holds the four charts as inline SVG, and no script, stylesheet link or outside address', async () => {
    const html = await htmlReport.serialize([readResultsFolder(COMPLETE)]);
    for (const id of ['time-chart', 'phase-chart', 'loss-chart', 'loss-diff-chart'])
      expect(html).toMatch(new RegExp(`<figure id="${id}"><svg [^>]*class="marks"`));
    expect(html).not.toMatch(/<script|<link|<img|<iframe|url\(/i);
    // The only addresses are XML namespaces, which nothing fetches.
    const addresses = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]);
    expect(new Set(addresses)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
  });

  it('stays under 2 MB for 7 engines × 3 trials × 1000 steps', async () => {
    const html = await htmlReport.serialize([bigFolder()]);
    console.log(`page for 7 engines × 3 trials × 1000 steps: ${(html.length / 2 ** 20).toFixed(2)} MiB`);
    expect(Buffer.byteLength(html)).toBeLessThan(2 * 2 ** 20);
  });

  it('escapes names and text from the folder', async () => {
    const folder = readResultsFolder(COMPLETE);
    const evil = '<img src=x onerror=alert(1)>';
    const env = { ...folder.env, machine: evil };
    const html = await htmlReport.serialize([{ ...folder, env }]);
    expect(html).not.toContain(evil);
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
  });
});

describe('npm run report -- DIR --format html', () => {
  it('regenerates the page from a saved folder, and from an interrupted one, without running anything', () => {
    for (const dir of [COMPLETE, INTERRUPTED]) {
      const out = join(tmp('html'), 'page.html');
      const r = runScript('report.ts', [dir, '--format', 'html', '--output', out]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${out}\n`);
      expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>[\s\S]*<figure id="time-chart">/);
    }
  });
});

describe('losses.csv', () => {
  it('parsed back, equals the losses of every counted training trial in runs.jsonl', () => {
    const rows = parse(syncText(lossesCsv.serialize([readResultsFolder(COMPLETE)])), { columns: true }) as Record<
      string,
      string
    >[];
    expect(Object.keys(rows[0])).toEqual(['machine', 'engine', 'trial', 'step', 'loss']);
    const { runs } = rawResults(COMPLETE);
    const expected = runs
      .filter((r) => r.kind === 'train' && r.status === 'ok' && !r.warmup)
      .flatMap((r) => r.result.losses.map((loss: number, i: number) => ['vm', r.engine, r.trial, i + 1, loss]));
    expect(rows.map((r) => [r.machine, r.engine, Number(r.trial), Number(r.step), Number(r.loss)])).toEqual(expected);
    expect(expected.length).toBeGreaterThan(20);
  });
});

describe.skipIf(!CHROMIUM)('the HTML report in a real browser', () => {
  it('opens from file:// with no console error and no request, every chart with its marks', async () => {
    const dir = tmp('browser');
    const page = join(dir, 'report.html');
    writeFileSync(page, await htmlReport.serialize([readResultsFolder(COMPLETE)]));
    await inChromium(page, async (tab, { errors, requests, url }) => {
      expect(errors).toEqual([]);
      expect(requests).toEqual([url]);
      const count = (selector: string) => tab.locator(selector).count();
      // The fixture's engines with a training time: topo, tape, tensor, stack (the faulty two have none).
      expect(await count('#time-chart g.mark-rect.role-mark path')).toBe(4);
      expect(await count('#phase-chart g.mark-rect.role-mark path')).toBe(4 * 4);
      expect(await count('#loss-chart g.mark-line.role-mark')).toBe(4);
      expect(await count('#loss-diff-chart g.mark-line.role-mark')).toBe(3);
      for (const id of ['time-chart', 'phase-chart', 'loss-chart', 'loss-diff-chart']) {
        const box = await tab.locator(`#${id} svg`).boundingBox();
        expect(box!.width, id).toBeGreaterThan(300);
      }
      const screenshot = join(dir, 'report.png');
      await tab.screenshot({ path: screenshot, fullPage: true });
      expect(readFileSync(screenshot).subarray(1, 4).toString()).toBe('PNG');
      console.log(`screenshot: ${screenshot}`);
    });
  });
});

describe('a chart row’s colour', () => {
  const folder = readResultsFolder(COMPLETE);
  const rows = summarize(folder);
  const of = (engine: string) => verdictOf(rows.find((s) => s.engine === engine)!);

  it('engines: pass, FAIL, or not checked', () => {
    expect([of('topo'), of('stack'), of('throws-at-3')]).toEqual(['correct', 'wrong', 'not checked']);
  });

  it('programs: reproducing, differing, or not comparable (not checked)', () => {
    expect([of('own-tensor'), of('own-stack')]).toEqual(['correct', 'wrong']);
    const env = {
      ...folder.env,
      bench: { ...folder.env.bench, externals: folder.env.bench.externals.map((e) => ({ ...e, fixedJob: true })) },
    };
    const fixed = summarize({ ...folder, env });
    expect(verdictOf(fixed.find((s) => s.engine === 'own-tensor')!)).toBe('not checked');
  });
});
