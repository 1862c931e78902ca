/** env.json: everything needed to judge, compare and reproduce a results folder. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { EngineInfo } from '../../engines/registry.ts';
import type { TrainConfig } from '../../workload/config.ts';
import type { Dataset } from '../../workload/dataset.ts';
import { configSchema, datasetSchema } from './schemas.ts';
import { externalSpecSchema, type ExternalSpec } from './external/spec.ts';
import {
  CALLGRIND_OPTIONS,
  countedSteps,
  countJob,
  DETERMINISTIC_NODE_FLAGS,
  valgrindVersion,
} from './counts/callgrind.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface BenchEnv {
  /** Host name: the report's machine column when folders from several machines are merged. */
  machine: string;
  /** ISO 8601 start time of the bench. */
  date: string;
  node: string;
  v8: string;
  cpu: { model: string; count: number };
  os: { platform: string; release: string; arch: string };
  totalMemoryBytes: number;
  /** Null when the harness does not run from a git checkout. */
  git: { commit: string | null; dirty: boolean | null };
  dataset: { source: string; docs: number; sha256: string };
  config: TrainConfig;
  seed: number;
  bench: {
    engines: { name: string; study: string; description: string }[];
    trials: number;
    warmup: number;
    timeoutSeconds: number;
    /** External programs timed alongside the engines, as given (placeholders unfilled). */
    externals: ExternalSpec[];
    /** The count pass (--counts): its job's steps, and how it counted; null without one. */
    counts: CountsSetup | null;
  };
  /**
   * The bench:all arguments as given, the extra-engines module if one was loaded, and the Node flags
   * every run inherits ($NODE_OPTIONS, and the bench's own flags): V8 flags change the figures.
   */
  command: { args: string[]; enginesModule: string | null; nodeOptions: string | null; execArgv: string[] };
}

const text = z.string();
const count = z.number();

/** env.json's schema, checked when a folder is read back. */
export const envSchema: z.ZodType<BenchEnv> = z.object({
  machine: text,
  date: text,
  node: text,
  v8: text,
  cpu: z.object({ model: text, count }),
  os: z.object({ platform: text, release: text, arch: text }),
  totalMemoryBytes: count,
  git: z.object({ commit: text.nullable(), dirty: z.boolean().nullable() }),
  dataset: datasetSchema,
  config: configSchema,
  seed: count,
  bench: z.object({
    engines: z.array(z.object({ name: text, study: text, description: text })),
    trials: count,
    warmup: count,
    timeoutSeconds: count,
    // Folders written before external programs could run have none.
    externals: z.array(externalSpecSchema).default([]),
    // Folders written before counts were made have none.
    counts: z
      .object({
        steps: z.number().int().positive(),
        // Folders written before --count-skip counted from step 1.
        skip: count.default(0),
        valgrind: text,
        options: z.array(text),
        nodeFlags: z.array(text),
      })
      .nullable()
      .default(null),
  }),
  // Folders written before the Node flags were recorded have neither.
  command: z.object({
    args: z.array(text),
    enginesModule: text.nullable(),
    nodeOptions: text.nullable().default(null),
    execArgv: z.array(text).default([]),
  }),
});

export interface BenchSetup {
  engines: readonly EngineInfo[];
  trials: number;
  warmup: number;
  timeoutSeconds: number;
  externals: readonly ExternalSpec[];
  config: TrainConfig;
  dataset: Dataset;
  args: readonly string[];
  /** The plugin engines' module, or null. */
  enginesModule: string | null;
  /** The count job's counted steps, or null without a count pass, and the steps before them. */
  countSteps: number | null;
  countSkip: number;
}

/** How a folder's counts were made: counts are compared only between folders that made them alike. */
export interface CountsSetup {
  /** The steps counted, after the `skip` an engine's count run makes first (part of the count's identity). */
  steps: number;
  skip: number;
  /** `valgrind --version`. */
  valgrind: string;
  options: string[];
  nodeFlags: string[];
}

export function captureEnv(setup: BenchSetup, date = new Date()): BenchEnv {
  const cpus = os.cpus();
  const { dataset, config } = setup;
  return {
    machine: os.hostname(),
    date: date.toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpu: { model: cpus[0]?.model.trim() ?? 'unknown', count: cpus.length },
    os: { platform: os.platform(), release: os.release(), arch: os.arch() },
    totalMemoryBytes: os.totalmem(),
    git: gitState(),
    dataset: { source: dataset.source, docs: dataset.docs.length, sha256: dataset.sha256 },
    config,
    seed: config.seed,
    bench: {
      engines: setup.engines.map(({ name, study, description }) => ({ name, study, description })),
      trials: setup.trials,
      warmup: setup.warmup,
      timeoutSeconds: setup.timeoutSeconds,
      externals: [...setup.externals],
      counts: setup.countSteps === null ? null : countsSetup(config, setup.countSteps, setup.countSkip),
    },
    command: {
      args: [...setup.args],
      enginesModule: setup.enginesModule,
      nodeOptions: process.env.NODE_OPTIONS || null,
      execArgv: withoutLoader(process.execArgv),
    },
  };
}

function countsSetup(config: TrainConfig, countSteps: number, skip: number): CountsSetup {
  return {
    steps: countedSteps(countJob(config, countSteps, skip).steps, skip),
    skip,
    valgrind: valgrindVersion() ?? 'not installed',
    options: [...CALLGRIND_OPTIONS],
    nodeFlags: [...DETERMINISTIC_NODE_FLAGS],
  };
}

/** The commit, and whether tracked or untracked files differ from it (either may change the figures). */
function gitState(): BenchEnv['git'] {
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    return { commit: git('rev-parse', 'HEAD').trim(), dirty: git('status', '--porcelain').trim() !== '' };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** Node's flags less the TypeScript loader's (`--import tsx`), which every run has and which change no figure. */
function withoutLoader(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] === '--import' || argv[i] === '--require') && argv[i + 1]?.includes('tsx')) i++;
    else out.push(argv[i]);
  }
  return out;
}
