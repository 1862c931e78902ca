/**
 * Names of engines and external programs: they become parts of paths (flame's
 * `<out>/<engine>/<timestamp>/`, train's `<engine>-<timestamp>.cpuprofile`) and cells of tables, so
 * a name that could climb out of a folder or rewrite a terminal is refused where it is registered.
 */

/** The longest name in UTF-8 bytes: a file name's 255, less what the commands add around it, with room to spare. */
export const MAX_NAME_BYTES = 100;

/** Why `name` cannot name an engine or a program, or null when it can. */
export function runNameProblem(name: string): string | null {
  if (name.trim() === '') return 'is empty';
  // C0 and C1 controls, DEL included: a NUL ends a path, an escape sequence rewrites a terminal.
  if (hasControlCharacter(name)) return 'has a control character';
  if (/[/\\]/.test(name)) return 'has a / or \\ (it becomes part of a path)';
  if (name === '.' || name.includes('..')) return "is '.' or has '..' (it becomes part of a path)";
  // A file name holds at most 255 bytes, and train's profile adds some 30 to the name: a 300-letter
  // engine made flame fail on mkdir with a stack trace.
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_NAME_BYTES) return `is ${bytes} bytes long, over ${MAX_NAME_BYTES} (it becomes part of a file name)`;
  return null;
}

/** C0 and C1 control characters and DEL (U+0000–U+001F, U+007F–U+009F). */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
