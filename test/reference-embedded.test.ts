/**
 * The oracle that needs no file outside the project: microgpt.py's own output on the embedded dataset
 * (test/fixtures/microgpt-py-embedded-20steps.json, produced once by running microgpt.py there), so
 * a clone without ../shared still checks the reference job against microgpt.py.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TopoEngine } from '../engines/topo.ts';
import { train } from '../scenarios/train.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import { loadEmbeddedDataset } from '../workload/dataset.ts';
import { ROOT, runScript } from './helpers.ts';

const PY: { stdout: string; losses: number[]; samples: string[]; steps: number } = JSON.parse(
  readFileSync(join(ROOT, 'test/fixtures/microgpt-py-embedded-20steps.json'), 'utf8'),
);

/** The lines both programs print the same way: the job's header, the step lines and the samples. */
const comparable = (stdout: string) =>
  stdout.split(/\r|\n/).filter((l) => /^(num docs|vocab size|num params|step |sample )/.test(l));

describe('the reference job on the embedded dataset reproduces microgpt.py (20 steps)', () => {
  it('every loss within 1e-12 of microgpt.py’s, and the same 20 samples', () => {
    const config = { ...DEFAULT_CONFIG, steps: PY.steps };
    const r = train({ engineName: 'topo', engine: new TopoEngine(), config, dataset: loadEmbeddedDataset() });
    expect(r.losses).toHaveLength(20);
    r.losses.forEach((loss, i) => expect(Math.abs(loss - PY.losses[i]), `step ${i + 1}`).toBeLessThan(1e-12));
    expect(r.samples).toEqual(PY.samples);
  });

  it('`npm run train -- --steps 20 --log-every 1` prints microgpt.py’s lines', () => {
    const r = runScript('train.ts', ['--steps', '20', '--log-every', '1']);
    expect(r.status, r.stderr).toBe(0);
    const expected = comparable(PY.stdout);
    expect(expected).toHaveLength(3 + 20 + 20);
    expect(comparable(r.stdout)).toEqual(expected);
  });
});
