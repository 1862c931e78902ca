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

describe('--help', () => {
  for (const [script, lead] of COMMANDS) {
    it(`${script} describes every flag it accepts`, () => {
      // An unknown flag's one-line error lists every valid flag: the help must name each of them.
      const bad = runScript(script, [...lead, '--no-such-flag']);
      expect(bad.status).toBe(2);
      const flags = bad.stderr.match(/Valid options: (.*)/)![1].split(', ');
      expect(flags).toContain('--help');
      // As npm runs it, under tsx; the other tests start the command's bundle (compiled-scripts.ts),
      // which must say the same.
      const help = runScript(script, ['--help'], { tsx: true });
      expect(help.status).toBe(0);
      expect(help.stderr).toBe('');
      for (const flag of flags) expect(help.stdout, flag).toMatch(new RegExp(`${flag}\\b`));
      expect(runScript(script, ['--help']).stdout).toBe(help.stdout);
    });
  }
});
