/**
 * An external program in the comparison: any command that trains the job and prints its losses
 * (microgpt.py in CPython, a compiled port). Given on the command line (`--external 'NAME=COMMAND'`)
 * or in a JSON config file; every mistake is an InputError before any run.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseShellWords } from 'shell-quote';
import { z } from 'zod';
import type { TrainConfig } from '../../../workload/config.ts';
import { InputError } from '../../../engines/input-error.ts';
import { runNameProblem } from '../../../engines/names.ts';
import { PRECISIONS, type Precision } from '../../../engines/registry.ts';
import { firstIssue, partialConfigSchema } from '../schemas.ts';

export type FixedJob = boolean | Partial<TrainConfig>;

export interface ExternalSpec {
  readonly name: string;
  /** argv, with placeholders such as {steps} still in it. */
  readonly command: readonly string[];
  /** Working directory (default: where bench:all was started). */
  readonly cwd: string | null;
  /** Added to the bench's environment. */
  readonly env: Readonly<Record<string, string>>;
  /** Regular expressions (JavaScript syntax) replacing the microgpt.py formats; see OUTPUT_GROUPS. */
  readonly lossPattern: string | null;
  readonly samplePattern: string | null;
  readonly timePattern: string | null;
  /**
   * The program runs a job of its own whatever it is given: `true` (never compared), or the job it
   * always runs (`{ steps: 1000, seed: 42 }`: compared when the bench runs that job).
   */
  readonly fixedJob: FixedJob;
  /**
   * What the program computes in (default 'float64'): a 'float32' program's printed losses are held to
   * float32 rounding's bounds (scenarios/precision.ts), not to equality at the printed decimals.
   */
  readonly precision: Precision;
}

/** The named groups each pattern must have: the step and its loss, a sample's text, the training time. */
export const OUTPUT_GROUPS = {
  lossPattern: [['step', 'loss']],
  samplePattern: [['text']],
  timePattern: [['ms'], ['seconds']],
} as const;

/**
 * Each placeholder's value for a job: `{name}` in an argument. Other braces (a script's `${x}`, say)
 * stay as they are; `{{` and `}}` are literal braces.
 */
const PLACEHOLDERS: Readonly<Record<string, (job: PlaceholderJob) => string | number>> = {
  data: (j) => j.dataPath,
  steps: (j) => j.config.steps,
  seed: (j) => j.config.seed,
  'n-layer': (j) => j.config.nLayer,
  'n-embd': (j) => j.config.nEmbd,
  'block-size': (j) => j.config.blockSize,
  'n-head': (j) => j.config.nHead,
  lr: (j) => j.config.learningRate,
  beta1: (j) => j.config.beta1,
  beta2: (j) => j.config.beta2,
  'eps-adam': (j) => j.config.epsAdam,
  'init-std': (j) => j.config.initStd,
  temperature: (j) => j.config.temperature,
  samples: (j) => j.config.samples,
};
export const PLACEHOLDER_NAMES = Object.keys(PLACEHOLDERS);

export interface PlaceholderJob {
  /** The dataset as a file (the embedded list is written to one when a command asks for {data}). */
  readonly dataPath: string;
  readonly config: TrainConfig;
}

const PLACEHOLDER = /\{\{|\}\}|\{([a-z][a-z0-9-]*)\}/g;

/** The command with the job filled in. */
export function fillPlaceholders(command: readonly string[], job: PlaceholderJob): string[] {
  return command.map((arg) =>
    arg.replace(PLACEHOLDER, (token, name: string | undefined) =>
      name === undefined ? token[0] : String(PLACEHOLDERS[name](job)),
    ),
  );
}

/** Whether any argument asks for the dataset file. */
export function usesData(spec: ExternalSpec): boolean {
  return spec.command.some((arg) => [...arg.matchAll(PLACEHOLDER)].some((m) => m[1] === 'data'));
}

function fixedJobSchema(): z.ZodType<FixedJob> {
  return z.union([z.boolean(), partialConfigSchema]);
}

/** As env.json holds it. */
export const externalSpecSchema: z.ZodType<ExternalSpec> = z.object({
  name: z.string(),
  command: z.array(z.string()),
  cwd: z.string().nullable(),
  env: z.record(z.string(), z.string()),
  lossPattern: z.string().nullable(),
  samplePattern: z.string().nullable(),
  timePattern: z.string().nullable(),
  fixedJob: fixedJobSchema(),
  // Specs written before precision was declared are float64 ones.
  precision: z.enum(PRECISIONS).default('float64'),
});

const NAME = /^[\w.+-]+$/;

/** `--external 'NAME=COMMAND ...'`: the command split as a shell would, with no shell in between. */
export function externalFlag(raw: string): ExternalSpec {
  const fail = (why: string): never => {
    throw new InputError(`--external ${raw}: ${why}`);
  };
  const eq = raw.indexOf('=');
  if (eq < 0) fail("expected NAME=COMMAND, e.g. 'microgpt.py=python3 microgpt.py'");
  const name = raw.slice(0, eq).trim();
  const words = parseShellWords(raw.slice(eq + 1), process.env);
  const command = words.map((w) =>
    typeof w === 'string'
      ? w
      : fail(`'${'op' in w ? (w.op === 'glob' ? w.pattern : w.op) : '#'}' needs a shell; use sh -c '…'`),
  );
  return checkSpec(
    {
      name,
      command,
      cwd: null,
      env: {},
      lossPattern: null,
      samplePattern: null,
      timePattern: null,
      fixedJob: false,
      precision: 'float64',
    },
    `--external ${raw}`,
  );
}

const configEntry = z
  .object({
    name: z.string(),
    command: z.array(z.string()),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    lossPattern: z.string().optional(),
    samplePattern: z.string().optional(),
    timePattern: z.string().optional(),
    fixedJob: fixedJobSchema().optional(),
    precision: z.enum(PRECISIONS).optional(),
  })
  .strict();
const configFile = z.object({ externals: z.array(configEntry) }).strict();

/**
 * `--config FILE`: `{ "externals": [{ name, command: [argv…], cwd?, env?, …Pattern?, fixedJob? }] }`;
 * cwd is relative to the file.
 */
export function externalsConfig(path: string): ExternalSpec[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InputError(`--config ${path}: cannot read it`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(`--config ${path}: not valid JSON`);
  }
  const parsed = configFile.safeParse(json);
  if (!parsed.success) throw new InputError(`--config ${path}: ${firstIssue(parsed.error)}`);
  return parsed.data.externals.map((e, i) =>
    checkCwd(
      checkSpec(
        {
          name: e.name,
          command: e.command,
          cwd: e.cwd === undefined ? null : resolve(dirname(path), e.cwd),
          env: e.env ?? {},
          lossPattern: e.lossPattern ?? null,
          samplePattern: e.samplePattern ?? null,
          timePattern: e.timePattern ?? null,
          fixedJob: e.fixedJob ?? false,
          precision: e.precision ?? 'float64',
        },
        `--config ${path}: externals[${i}]`,
      ),
      `--config ${path}: externals[${i}]`,
    ),
  );
}

/**
 * The working directory must be a folder now: missing, it made spawn fail with ENOENT, which Node
 * reports against the program run (GNU time), so the fault was blamed on the wrong file.
 */
function checkCwd(spec: ExternalSpec, where: string): ExternalSpec {
  if (spec.cwd === null) return spec;
  let folder: boolean;
  try {
    folder = statSync(spec.cwd).isDirectory();
  } catch {
    throw new InputError(`${where}: cwd ${spec.cwd}: no such folder`);
  }
  if (!folder) throw new InputError(`${where}: cwd ${spec.cwd}: not a folder`);
  return spec;
}

/** Names unique among the engines and the other externals. */
export function checkExternalNames(specs: readonly ExternalSpec[], engines: readonly string[]): void {
  const seen = new Set(engines);
  for (const { name } of specs) {
    if (seen.has(name))
      throw new InputError(
        `external '${name}': ${engines.includes(name) ? 'an engine has that name' : 'given twice'}; ` +
          'choose another name',
      );
    seen.add(name);
  }
}

function checkSpec(spec: ExternalSpec, where: string): ExternalSpec {
  const fail = (why: string): never => {
    throw new InputError(`${where}: ${why}`);
  };
  const nameProblem = runNameProblem(spec.name);
  if (nameProblem !== null) fail(`name ${JSON.stringify(spec.name)} ${nameProblem}`);
  if (!NAME.test(spec.name)) fail(`name '${spec.name}' must be letters, digits and . _ + - only`);
  if (spec.command.length === 0 || spec.command[0] === '') fail('empty command');
  for (const arg of spec.command)
    for (const [, name] of arg.matchAll(PLACEHOLDER))
      if (name !== undefined && !(name in PLACEHOLDERS))
        fail(
          `unknown placeholder {${name}} (write {{${name}}} for the braces themselves); ` +
            `known: ${PLACEHOLDER_NAMES.map((n) => `{${n}}`).join(' ')}`,
        );
  for (const key of Object.keys(OUTPUT_GROUPS) as (keyof typeof OUTPUT_GROUPS)[]) {
    const source = spec[key];
    if (source === null) continue;
    let groups: string[];
    try {
      groups = Object.keys(new RegExp(`${source}|(?<__probe>)`).exec('')?.groups ?? {});
    } catch (err) {
      return fail(`${key} is not a regular expression (${(err as Error).message})`);
    }
    const options = OUTPUT_GROUPS[key];
    if (!options.some((need) => need.every((g) => groups.includes(g))))
      fail(`${key} needs the named group${options.map((o) => o.map((g) => ` (?<${g}>…)`).join(' and')).join(' or')}`);
  }
  return spec;
}
