/**
 * What `npm run flame` and `npm run clinic` share: validating the job before any profiler starts,
 * the profiled program compiled to plain JavaScript, a fresh output folder per run, and the checks
 * that the run produced what it claims (profilers exit 0 even when their target fails or they write
 * nothing).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import type { EngineInfo, EngineRegistry } from '../engines/registry.ts';
import { loadDatasetFile } from '../workload/dataset.ts';
import { assertRereadable } from './child-data.ts';
import { writeFileAtomic } from '../scenarios/files.ts';
import { formatSeconds } from '../scenarios/output/units.ts';
import { InputError } from '../engines/input-error.ts';
import { CommandError, ENGINES_MODULE_VAR, type FlagValues } from './cli.ts';
import { JOB_FLAGS, JOB_HELP, configFromFlags, engineFlag } from './job-flags.ts';
import { outputDir } from './output-paths.ts';
import { PROJECT_ROOT, timestamp } from './paths.ts';

export const PROFILE_FLAGS = {
  ...JOB_FLAGS,
  engine: { type: 'string' },
  out: { type: 'string' },
} as const;

/** The options part of a profiling command's --help. */
export function profileHelp(engines: EngineRegistry, defaultOut: string): string {
  return `Options:
  --engine NAME        one of: ${engines.names().join(', ')} (default topo)
  --out DIR            where reports go, as DIR/<engine>/<timestamp>/ (default ${defaultOut})
  --help               show this help
${JOB_HELP}`;
}

type ProfileValues = FlagValues<typeof PROFILE_FLAGS>;

export interface ProfileJob {
  readonly engine: EngineInfo;
  /** Where run folders go (created and checked up front). */
  readonly outDir: string;
  /** The flags the profiled process gets: the engine and every job flag given, paths made absolute. */
  readonly targetFlags: readonly string[];
}

/** Checks the job's flags as the profiled process will (engine first), so bad input fails before a profiler starts. */
export function profileJob(engines: EngineRegistry, values: ProfileValues, defaultOut: string): ProfileJob {
  const plugin = engines.pluginModule;
  // The profiled job is plain JavaScript under plain node (see compileTarget): it cannot import
  // TypeScript, and a TypeScript loader would put its own thread's V8 log beside the job's.
  if (plugin !== null && /\.[mc]?tsx?$/.test(plugin))
    throw new InputError(
      `${ENGINES_MODULE_VAR}=${plugin}: the profilers run the job as compiled JavaScript, which cannot ` +
        'load a TypeScript module; compile it to .js or .mjs first (e.g. npx esbuild --format=esm --bundle)',
    );
  const engine = engineFlag(engines, values.engine);
  configFromFlags(values);
  const targetFlags = ['--engine', engine.name];
  for (const key of Object.keys(JOB_FLAGS) as (keyof typeof JOB_FLAGS)[]) {
    const value = values[key];
    if (typeof value !== 'string') continue;
    // The target runs in the report folder, so a relative --data would not resolve there.
    const arg = key === 'data' ? resolve(value) : value;
    if (key === 'data') assertRereadable(loadDatasetFile(arg), value);
    targetFlags.push(`--${key}=${arg}`);
  }
  return { engine, targetFlags, outDir: outputDir('out', values.out ?? defaultOut) };
}

/** Exactly one HTML report directly inside `dir`, or a CommandError saying `tool` produced none. */
export function requireHtml(dir: string, tool: string): string {
  const html = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.html')) : [];
  if (html.length === 0) throw new CommandError(`${tool} produced no HTML report in ${dir}`);
  if (html.length > 1) throw new CommandError(`${tool} left ${html.length} HTML reports in ${dir}, expected one`);
  return join(dir, html[0]);
}

const TARGET = join(PROJECT_ROOT, 'scripts', 'profile-target.ts');

/**
 * Compiles the profiled entry and what it imports to JavaScript in `dir` and returns the entry's
 * path. Under `node --import tsx` the TypeScript would be compiled by loader hooks on a second
 * thread, whose isolate writes a V8 log of its own, and 0x (also inside clinic flame) takes
 * whichever log it lists first: sometimes a profile of the loader instead of the job. Compiled
 * code also keeps arrow functions' names and lines near the source's.
 *
 * esbuild lists the project's modules the entry reaches, and TypeScript strips each one's types on
 * its own (as tsx does, so anything tsx runs compiles): 2.5 s of CPU, against 5.4 s for a whole
 * TypeScript program, which also read @types/node and resolved every import to emit.
 */
export async function compileTarget(dir: string): Promise<string> {
  // Loaded here: the compiler takes a second to load, which no bad flag or --help should wait for.
  const [{ default: ts }, { build }] = await Promise.all([import('typescript'), import('esbuild')]);
  const reached = await build({
    entryPoints: [TARGET],
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  }).catch((err: { errors?: { text: string }[] }) => {
    throw new CommandError(`compiling ${relative(PROJECT_ROOT, TARGET)} failed: ${err.errors?.[0]?.text ?? err}`);
  });
  for (const input of Object.keys(reached.metafile.inputs)) {
    const source = readFileSync(join(PROJECT_ROOT, input), 'utf8');
    const out = join(dir, input.replace(/\.ts$/, '.js'));
    if (!input.endsWith('.ts')) {
      writeFileAtomic(out, source);
      continue;
    }
    const { outputText } = ts.transpileModule(source, {
      fileName: input,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        rewriteRelativeImportExtensions: true,
      },
    });
    writeFileAtomic(out, outputText);
  }
  // ES modules wherever the run folder is, importing this project's packages.
  writeFileAtomic(join(dir, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return join(dir, relative(PROJECT_ROOT, TARGET).replace(/\.ts$/, '.js'));
}

/**
 * Runs a profiler's CLI on this Node with stdin closed and its output on our stderr (stdout carries
 * only the report's path).
 */
export function runProfilerCli(
  tool: string,
  bin: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  const script = createRequire(import.meta.url).resolve(bin);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd,
      stdio: ['ignore', 2, 2],
      env: { ...process.env, ...env },
    });
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (code === 0) done();
      else fail(new CommandError(`${tool} exited with ${signal ?? `code ${code}`}`));
    });
  });
}

/**
 * Profiles the job in a fresh `<outDir>/<engine>/<timestamp>/`: compiles it into `build/` there,
 * then `profile(runDir, command)` runs the profiler in that folder on `command` (node and its
 * arguments). The folder must end up holding the job's summary and one HTML report, else it is
 * removed and the run fails. Prints the job's summary on
 * stderr and the report's path as the last line of stdout.
 */
export async function profileInFreshDir(
  tool: string,
  job: ProfileJob,
  profile: (runDir: string, command: string[]) => Promise<void>,
): Promise<void> {
  const runDir = join(job.outDir, job.engine.name, timestamp());
  mkdirSync(runDir, { recursive: true });
  const summaryPath = join(runDir, 'job.json');
  let html: string;
  let summary: { steps: number; trainingMs: number; finalLoss: number };
  try {
    const command = [
      process.execPath,
      await compileTarget(join(runDir, 'build')),
      ...job.targetFlags,
      `--summary=${summaryPath}`,
    ];
    process.stderr.write(`${tool}: profiling the training job on ${job.engine.name} in ${runDir}\n`);
    await profile(runDir, command);
    if (!existsSync(summaryPath))
      throw new CommandError(
        `the profiled training job did not finish (see its error above); ${tool}'s output was removed`,
      );
    summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
    html = requireHtml(runDir, tool);
  } catch (err) {
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
  process.stderr.write(
    `${tool}: ${job.engine.name}, ${summary.steps} steps, ${formatSeconds(summary.trainingMs, 2)} training ` +
      `under the profiler, final loss ${summary.finalLoss.toFixed(4)}\n`,
  );
  process.stdout.write(html + '\n');
}
