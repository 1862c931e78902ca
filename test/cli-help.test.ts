import { describe, expect, it } from 'vitest';
import { runScript } from './helpers.ts';

/** Every command's entry point, with what it needs before its flags (clinic takes the tool first). */
const COMMANDS: [script: string, lead: string[]][] = [
  ['train.ts', []],
  ['gradcheck.ts', []],
  ['bench-all.ts', []],
  ['bench-sweep.ts', []],
  ['bench-history.ts', []],
  ['report.ts', []],
  ['compare.ts', []],
  ['flame.ts', []],
  ['clinic.ts', ['doctor']],
  ['bench-micro.ts', []],
];

/**
 * The commands whose help is also read as npm runs it, under tsx, and compared with their bundle's.
 * A tsx start costs about 0.9 s of CPU against 0.2 s for a bundle, and what could make the two differ
 * is the bundling (compiled-scripts.ts), which is the same for every command: these three cover its
 * cases (a job's flags, a command that reaches the most modules, a command with a lead argument).
 */
const UNDER_TSX = new Set(['train.ts', 'bench-all.ts', 'clinic.ts']);

describe('--help', () => {
  for (const [script, lead] of COMMANDS) {
    it(`${script} describes every flag it accepts`, () => {
      // An unknown flag's one-line error lists every valid flag: the help must name each of them.
      const bad = runScript(script, [...lead, '--no-such-flag']);
      expect(bad.status).toBe(2);
      const flags = bad.stderr.match(/Valid options: (.*)/)![1].split(', ');
      expect(flags).toContain('--help');
      const help = runScript(script, ['--help']);
      expect(help.status).toBe(0);
      expect(help.stderr).toBe('');
      for (const flag of flags) expect(help.stdout, flag).toMatch(new RegExp(`${flag}\\b`));
      // As npm runs it, under tsx: the other tests start the command's bundle, which must say the same.
      if (UNDER_TSX.has(script)) expect(runScript(script, ['--help'], { tsx: true }).stdout).toBe(help.stdout);
    });
  }
});
