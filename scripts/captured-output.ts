/**
 * What a library prints while an engine runs in a command's own process (TensorFlow.js greets Node
 * users on stderr), kept out of the command's table: both streams diverted into a buffer for the
 * duration, then reported apart (bench:all's workers keep theirs in the run's record instead).
 */
type Write = typeof process.stdout.write;

export async function withOutputCaptured<T>(run: () => Promise<T>): Promise<{ value: T; output: string }> {
  let output = '';
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((s) => s.write);
  const capture = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const done = rest.find((r) => typeof r === 'function') as ((err?: Error) => void) | undefined;
    done?.();
    return true;
  }) as Write;
  streams.forEach((s) => (s.write = capture));
  try {
    return { value: await run(), output };
  } finally {
    streams.forEach((s, i) => (s.write = writes[i]));
  }
}

/** The captured text as indented lines under a heading naming who printed it; '' for none. */
export function capturedLines(who: string, output: string): string {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return '';
  return `${who} printed (kept out of the table):\n${lines.map((l) => `  | ${l}`).join('\n')}\n`;
}
