/**
 * PyTorch as an independent oracle: the project's PyTorch program of the job
 * (frameworks/pytorch/microgpt_torch.py, float64 and torch.autograd) run for step 1, its gradients read
 * back. Its autograd shares no code with the engines, so gradients that match it to rounding are
 * right by a second implementation, not only by topo's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainConfig } from '../workload/config.ts';
import type { Dataset } from '../workload/dataset.ts';
import { writeFileAtomic } from './files.ts';

/** The launcher: picks the Python that has torch (Debian's /usr/bin/python3 unless MICROGPT_PYTORCH_PYTHON). */
export const PYTORCH_PROGRAM = fileURLToPath(new URL('../frameworks/pytorch/run', import.meta.url));

/** The exit code with which the program says torch cannot be had (missing, or under a valgrind that cannot run it). */
export const PYTORCH_UNAVAILABLE_EXIT = 3;

/** Importing torch and a one-step job take 1–2 s on a quiet machine; this only guards against a hang. */
const TIMEOUT_MS = 300_000;

/** PyTorch cannot run here; the message says why and how to install it. */
export class PytorchUnavailable extends Error {
  override readonly name = 'PytorchUnavailable';
}

/** The program's step-1 gradients (in the parameters' flat order) and loss. */
export interface PytorchGradients {
  readonly loss: number;
  readonly grads: Float64Array;
}

function runProgram(args: readonly string[]) {
  const r = spawnSync(PYTORCH_PROGRAM, args, { encoding: 'utf8', timeout: TIMEOUT_MS });
  const lastLine = (r.stderr ?? '').trim().split('\n').pop() ?? '';
  if (r.error) throw new PytorchUnavailable(`cannot run ${PYTORCH_PROGRAM}: ${r.error.message}`);
  if (r.status === PYTORCH_UNAVAILABLE_EXIT) throw new PytorchUnavailable(lastLine);
  if (r.status !== 0) throw new Error(`${PYTORCH_PROGRAM} exited with ${r.status ?? r.signal}: ${lastLine}`);
  return r.stdout;
}

/** "torch 1.13.0a0 under Python 3.11.2 (…)", or throws PytorchUnavailable. */
export function pytorchVersion(): string {
  return runProgram(['--version']).trim();
}

/** Why PyTorch cannot run here, or null when it can (what a test that needs it says when it skips). */
export function pytorchMissing(): string | null {
  try {
    pytorchVersion();
    return null;
  } catch (err) {
    if (err instanceof PytorchUnavailable) return err.message;
    throw err;
  }
}

/** The job's flags as the program takes them (the same names as bench:all's placeholders). */
function jobArgs(config: TrainConfig): string[] {
  const flags: [string, number][] = [
    ['seed', config.seed],
    ['n-layer', config.nLayer],
    ['n-embd', config.nEmbd],
    ['block-size', config.blockSize],
    ['n-head', config.nHead],
    ['lr', config.learningRate],
    ['beta1', config.beta1],
    ['beta2', config.beta2],
    ['eps-adam', config.epsAdam],
    ['init-std', config.initStd],
    ['rms-eps', config.rmsEps],
    ['temperature', config.temperature],
  ];
  return flags.flatMap(([name, value]) => [`--${name}`, String(value)]);
}

/**
 * Step 1's gradients of the job in PyTorch: the first shuffled document at the initial parameters,
 * which is what gradcheck compares. The dataset is written to a file for the program (the embedded
 * list has none), one document per line, as the program reads it back.
 */
export function pytorchGradients(dataset: Dataset, config: TrainConfig): PytorchGradients {
  const dir = mkdtempSync(join(tmpdir(), 'microgpt-bench-pytorch-'));
  try {
    const data = join(dir, 'dataset.txt');
    const out = join(dir, 'grads.json');
    writeFileAtomic(data, dataset.docs.join('\n') + '\n');
    // --steps only sets the learning-rate schedule, which step 1's gradients do not depend on.
    runProgram(['--data', data, '--steps', '1', '--samples', '0', '--grads-out', out, ...jobArgs(config)]);
    const parsed = JSON.parse(readFileSync(out, 'utf8')) as { loss: number; grads: number[] };
    return { loss: parsed.loss, grads: Float64Array.from(parsed.grads) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
