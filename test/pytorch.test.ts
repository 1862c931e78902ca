/**
 * PyTorch beside the engines (frameworks/pytorch/): its step-1 gradients as an oracle for topo's and
 * tensor's, its rows in bench:all through frameworks/pytorch.json with their loss verdicts (and a copy
 * with Adam's bias correction dropped, which must be caught), and the one clear reason without torch.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBuiltIn } from '../engines/registry.ts';
import { TopoEngine } from '../engines/topo.ts';
import { gradientsOf } from '../scenarios/gradients.ts';
import { pytorchGradients, pytorchMissing } from '../scenarios/pytorch.ts';
import { prepareJob } from '../scenarios/train.ts';
import type { Engine } from '../engines/engine.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import { loadDataset, type Dataset } from '../workload/dataset.ts';
import { NAMES_PATH, rawResults, ROOT, runScript, SMALL_MODEL_FLAGS, tempDirs } from './helpers.ts';

const tmp = tempDirs();
const missing = pytorchMissing();
if (missing) console.warn(`[skip] ${missing}: skipping the PyTorch tests that need it`);

/**
 * How far apart two gradient vectors may be: each gradient within 1e-12 of the reference's, relative
 * to the larger of its own size and a thousandth of the largest gradient. Measured on step 1: PyTorch
 * against topo 3e-14 to 1e-13 at that floor (tensor against topo, 2e-14), and at most 1.7e-16 apart
 * in absolute terms; only gradients a thousand times smaller than the largest differ by more than
 * 1e-12 of themselves (up to 1e-11, tensor's against topo's too), from rounding alone.
 */
function worstRelativeError(grads: Float64Array, ref: Float64Array): number {
  const floor = 1e-3 * ref.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
  let worst = 0;
  ref.forEach((r, i) => (worst = Math.max(worst, Math.abs(grads[i] - r) / Math.max(Math.abs(r), floor))));
  return Number.isNaN(worst) ? Infinity : worst;
}

function engineGradients(engine: Engine, dataset: Dataset) {
  const job = prepareJob(DEFAULT_CONFIG, dataset);
  engine.init(job.params);
  return gradientsOf(engine, job.layout, DEFAULT_CONFIG, job.tokenizer.encodeDocument(job.docs[0]), job.params);
}

const DATASETS: [string, () => Dataset][] = [
  ['the embedded dataset', () => loadDataset()],
  ...(NAMES_PATH ? [['names.txt', () => loadDataset(NAMES_PATH)] as [string, () => Dataset]] : []),
];

describe.skipIf(missing).each(DATASETS)("PyTorch's step-1 gradients as an oracle, on %s", (_, load) => {
  let torch: ReturnType<typeof pytorchGradients>;
  let dataset: Dataset;
  beforeAll(() => {
    dataset = load();
    torch = pytorchGradients(dataset, DEFAULT_CONFIG);
  });

  it("topo's gradients are PyTorch's to 1e-12 relative", () => {
    const topo = engineGradients(new TopoEngine(), dataset);
    expect(torch.grads).toHaveLength(topo.grads.length);
    expect(worstRelativeError(topo.grads, torch.grads)).toBeLessThan(1e-12);
    expect(Math.abs(topo.loss - torch.loss)).toBeLessThan(1e-14);
  });

  it("tensor's gradients are PyTorch's to 1e-12 relative", () => {
    const tensor = engineGradients(createBuiltIn('tensor'), dataset);
    expect(worstRelativeError(tensor.grads, torch.grads)).toBeLessThan(1e-12);
  });
});

/** A small model, so that tensor's gradient check takes a second; PyTorch's rows each start torch (1–2 s). */
const JOB = ['--steps', '6', ...SMALL_MODEL_FLAGS, '--samples', '3'];
const CONFIG = join(ROOT, 'frameworks/pytorch.json');
const PYTORCH_ROWS = ['pytorch-eager', 'pytorch-batched', 'pytorch-traced'];

function summaryRows(out: string): Record<string, string>[] {
  return parse(readFileSync(join(out, 'summary.csv'), 'utf8'), { columns: true });
}

/** A copy of the program (launcher and all) with Adam's bias correction dropped: m̂ = m, v̂ = v. */
function plantedCopy(): string {
  const dir = join(tmp('planted'), 'pytorch');
  mkdirSync(dir);
  copyFileSync(join(ROOT, 'frameworks/pytorch/run'), join(dir, 'run'));
  const source = readFileSync(join(ROOT, 'frameworks/pytorch/microgpt_torch.py'), 'utf8');
  const planted = source
    .replace('m_hat = m / torch.full_like(m, m_correction)', 'm_hat = m')
    .replace('v_hat = v / torch.full_like(v, v_correction)', 'v_hat = v');
  expect(planted.split('\n').filter((l) => /^\s+[mv]_hat = [mv]$/.test(l))).toHaveLength(2);
  writeFileSync(join(dir, 'microgpt_torch.py'), planted);
  return join(dir, 'run');
}

describe.skipIf(missing)('bench:all --config frameworks/pytorch.json', () => {
  const out = join(tmp('bench'), 'results');
  let r: ReturnType<typeof runScript>;
  beforeAll(() => {
    const job =
      '--data {data} --steps {steps} --seed {seed} --n-embd {n-embd} --n-head {n-head} --block-size {block-size}';
    const planted = `pytorch-planted=sh ${plantedCopy()} ${job} --samples {samples}`;
    r = runScript('bench-all.ts', [
      ...['--engines', 'tensor', '--trials', '1', ...JOB],
      ...['--config', CONFIG, '--external', planted],
      ...['--out', out, '--report', join(tmp('report'), 'r.md'), '--no-page'],
    ]);
  });

  it('each PyTorch row reproduces the reference, with its printed training time', () => {
    expect(r.status, r.stderr).toBe(0);
    const rows = summaryRows(out);
    for (const name of PYTORCH_ROWS) {
      const row = rows.find((x) => x.engine === name)!;
      const equal = '6/6 printed steps equal to 4 decimals, samples identical';
      expect(row.loss_verdict, name).toBe(`reproduces the reference (${equal}; against tensor, topo's stand-in)`);
    }
    for (const name of PYTORCH_ROWS) {
      const run = rawResults(out).runs.find((x) => x.kind === 'external' && x.engine === name);
      expect(run.result.trainingMs, name).toBeGreaterThan(0);
    }
  });

  it('a copy with Adam’s bias correction dropped differs from step 2', () => {
    const row = summaryRows(out).find((x) => x.engine === 'pytorch-planted')!;
    expect(row.loss_verdict).toMatch(/^differs from step 2 \(printed \d\.\d{4}, reference \d\.\d{4}; against tensor/);
  });
});

describe('bench:all --config frameworks/pytorch.json without PyTorch', () => {
  const out = join(tmp('notorch'), 'results');
  let r: ReturnType<typeof runScript>;
  beforeAll(() => {
    // A torch package that fails to import, first on Python's path: torch is "not installed" for this run.
    const hidden = tmp('hidden-torch');
    mkdirSync(join(hidden, 'torch'));
    writeFileSync(join(hidden, 'torch/__init__.py'), 'raise ImportError("No module named \'torch\'")\n');
    r = runScript(
      'bench-all.ts',
      [
        ...['--engines', 'tensor', '--trials', '1', ...JOB, '--config', CONFIG, '--out', out],
        '--report',
        join(out, 'r.md'),
        '--no-page',
      ],
      { env: { PYTHONPATH: hidden } },
    );
  });

  it('costs one failed row per PyTorch row, saying why, and the bench still succeeds', () => {
    expect(r.status, r.stderr).toBe(0);
    const rows = summaryRows(out);
    for (const name of PYTORCH_ROWS) {
      const row = rows.find((x) => x.engine === name)!;
      expect(row.status, name).toMatch(
        /^failed: exited with code 3: PyTorch not installed: (apt-get install python3-torch \(.*No module named 'torch'\)|no \S+ \(apt-get install python3-torch)/,
      );
    }
    expect(rows.find((x) => x.engine === 'tensor')!.status).toBe('ok');
  });
});

describe.skipIf(missing)('gradcheck --reference pytorch', () => {
  it("checks each engine's step-1 gradients against PyTorch's and says so", () => {
    const args = [
      '--engines',
      'tensor,stack',
      '--reference',
      'pytorch',
      '--trajectory-steps',
      '0',
      '--fd-samples',
      '0',
    ];
    const r = runScript('gradcheck.ts', [...args, ...JOB]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/step 1's gradients vs pytorch/);
    expect(r.stdout).toMatch(/^tensor +.* pass \(vs pytorch's gradients\)$/m);
    expect(r.stdout).toMatch(/^stack +.* FAIL: [\d,]+ of [\d,]+ gradients wrong, .*\(vs pytorch's gradients\)$/m);
  });
});

describe('the PyTorch program without torch, or under a valgrind that cannot run it', () => {
  it('gradcheck --reference pytorch: one line, exit code 2', () => {
    const hidden = tmp('hidden-torch-gradcheck');
    mkdirSync(join(hidden, 'torch'));
    writeFileSync(join(hidden, 'torch/__init__.py'), 'raise ImportError("No module named \'torch\'")\n');
    const r = runScript('gradcheck.ts', ['--reference', 'pytorch'], { env: { PYTHONPATH: hidden } });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--reference pytorch: PyTorch not installed: (apt-get install python3-torch|no \S+)/);
  });

  it('no Python at all: the launcher says so, exit code 3', () => {
    const r = spawnSync(join(ROOT, 'frameworks/pytorch/run'), ['--version'], {
      encoding: 'utf8',
      env: { ...process.env, MICROGPT_PYTORCH_PYTHON: '/nonexistent/python3' },
    });
    expect(r.status).toBe(3);
    expect(r.stderr.trim()).toBe(
      'PyTorch not installed: no /nonexistent/python3 (apt-get install python3-torch, or set MICROGPT_PYTORCH_PYTHON)',
    );
  });

  it.skipIf(missing)('under valgrind without the shim: exit code 3 and why, not a bare SIGILL', () => {
    // valgrind's preload in LD_PRELOAD is how the program knows it is under valgrind; a copy of the
    // program has no build/ folder, so no shim. (ld.so's warning about the missing file comes first.)
    const dir = tmp('no-shim');
    for (const file of ['run', 'microgpt_torch.py'])
      copyFileSync(join(ROOT, 'frameworks/pytorch', file), join(dir, file));
    const r = spawnSync('sh', [join(dir, 'run'), '--version'], {
      encoding: 'utf8',
      env: { ...process.env, LD_PRELOAD: join(dir, 'vgpreload_core-amd64-linux.so') },
    });
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split('\n').pop()).toMatch(
      /^valgrind 3\.19 cannot run torch: SIGILL in libhwy's initializer \(rdtscp, via Debian's OpenCV\); build the shim/,
    );
  });
});
