import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadEngines, type EngineRegistry } from '../engines/registry.ts';
import { InputError } from '../engines/input-error.ts';

/** The environment variable naming a module of extra engines (see `loadEngines`). */
export const ENGINES_MODULE_VAR = 'MICROGPT_BENCH_ENGINES';

/** A command could not finish for a reason outside its input (a profiler wrote no report): one line, exit 1. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/**
 * Runs a command's main function: bad input (InputError, or a flag parseArgs rejects) becomes one
 * line on stderr and exit code 2; a CommandError one line and exit 1; anything else is a bug and
 * keeps its stack trace (exit 1).
 */
export function runCli(main: () => void | Promise<void>): void {
  Promise.resolve()
    .then(main)
    .catch((err: unknown) => {
      if (err instanceof InputError || err instanceof CommandError) {
        process.stderr.write(`error: ${err.message}\n`);
        process.exitCode = err instanceof InputError ? 2 : 1;
      } else {
        process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
      }
    });
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed flag values: strings, booleans for boolean flags, a list for a flag that may be repeated. */
export type FlagValues<O extends Options> = {
  [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : O[K] extends { multiple: true } ? string[] : string;
};

export interface CommandContext<O extends Options> {
  readonly values: FlagValues<O>;
  readonly positionals: string[];
  /** The built-in engines and any from $MICROGPT_BENCH_ENGINES. */
  readonly engines: EngineRegistry;
}

export interface CommandSpec<O extends Options> {
  /** The --help text (given the engines, so it can list them). */
  readonly help: (engines: EngineRegistry) => string;
  /** The flags besides --help, which every command has. */
  readonly flags: O;
  readonly positionals?: boolean;
  readonly run: (ctx: CommandContext<O>) => void | Promise<void>;
}

/** A command's whole life: parse the flags, load the engines, print --help or run; errors as `runCli` says. */
export function command<O extends Options>(spec: CommandSpec<O>): void {
  runCli(async () => {
    const flags = { ...spec.flags, help: { type: 'boolean' } } as const;
    const { values, positionals } = parseFlags(process.argv.slice(2), flags, spec.positionals ?? false);
    const module = process.env[ENGINES_MODULE_VAR] || null;
    const engines = await loadEngines(module, `${ENGINES_MODULE_VAR}=${module}`);
    if ((values as { help?: boolean }).help) {
      process.stdout.write(spec.help(engines) + '\n');
      return;
    }
    await spec.run({ values: values as FlagValues<O>, positionals, engines });
  });
}

/** util.parseArgs in strict mode, with its errors turned into one-line InputErrors naming the valid flags. */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = false) {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv, options),
      options,
      strict: true,
      allowPositionals,
      tokens: true,
    });
  } catch (err) {
    const valid = Object.keys(options)
      .map((k) => `--${k}`)
      .join(', ');
    const msg = (err as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/, '');
    throw new InputError(`${msg}. Valid options: ${valid}`);
  }
  // parseArgs would silently keep the last of a flag given twice (unless it may be repeated).
  const names = parsed.tokens.flatMap((t) => (t.kind === 'option' && !options[t.name]?.multiple ? [t.name] : []));
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new InputError(`--${twice} is given more than once`);
  return { values: parsed.values, positionals: parsed.positionals };
}

/** `--steps -3` → `--steps=-3`, so a negative value reaches validation instead of looking like a flag. */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : '';
    if (options[name]?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** A whole number ≥ min, or an InputError naming the flag. */
export function intFlag(flag: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min) {
    throw new InputError(`--${flag} expects a whole number ≥ ${min}, got '${raw}'`);
  }
  return n;
}

/**
 * A number written in decimal: digits with an optional sign, point and exponent (`2`, `-0.5`, `.5`,
 * `1e-3`). JavaScript's Number() also reads `0x10` (16), `0b1`, `0o7`, `Infinity` and blanks as 0,
 * none of which a user means as a percentage or a rate.
 */
export const DECIMAL_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite decimal number satisfying `ok`, or an InputError naming the flag and what it expects. */
export function numberFlag(
  flag: string,
  raw: string | undefined,
  fallback: number,
  ok: (n: number) => boolean,
  expects: string,
): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!DECIMAL_NUMBER.test(raw.trim()) || !Number.isFinite(n) || !ok(n))
    throw new InputError(`--${flag} expects ${expects}, got '${raw}'`);
  return n;
}

/** setTimeout's longest delay (2³¹ − 1 ms); a longer one would fire at once. */
const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** `--timeout SECONDS`: a limit per run, which setTimeout can hold. */
export function timeoutFlag(raw: string | undefined, fallback: number): number {
  const expects = `a number of seconds > 0 (at most ${MAX_TIMEOUT_SECONDS})`;
  return numberFlag('timeout', raw, fallback, (n) => n > 0 && n <= MAX_TIMEOUT_SECONDS, expects);
}

/** A list like "a,b" whose every item is one of `valid`. */
export function choiceListFlag(flag: string, raw: string | undefined, valid: readonly string[]): string[] {
  if (raw === undefined) return [...valid];
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const unknown = items.filter((s) => !valid.includes(s));
  if (items.length === 0 || unknown.length > 0) {
    throw new InputError(
      `--${flag}: unknown ${unknown.length > 0 ? `'${unknown.join(',')}'` : 'empty list'}. Valid: ${valid.join(', ')}`,
    );
  }
  return items;
}

/**
 * ^C (SIGINT) and SIGTERM abort `signal` instead of killing the process, so a long command can stop
 * its runs and keep what finished; `exitCode()` is then 130 or 143 (0 while not stopped).
 */
export function stopOnSignals() {
  const controller = new AbortController();
  let exitCode = 0;
  const listen = (name: NodeJS.Signals, code: number) => {
    const stop = () => {
      exitCode = code;
      controller.abort();
    };
    process.once(name, stop);
    return () => process.off(name, stop);
  };
  const unlisten = [listen('SIGINT', 130), listen('SIGTERM', 143)];
  return {
    signal: controller.signal,
    exitCode: () => exitCode,
    dispose: () => unlisten.forEach((off) => off()),
  };
}
