/** Tables for people: Markdown (reports) and padded plain text (terminal). */

/**
 * Text safe to show: every control character but tab (C0, DEL, C1: a program's NUL, an escape
 * sequence that would recolour or clear the terminal, a \r that would overwrite the line) as a
 * visible `\xNN`.
 */
export function printable(s: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || (c >= 0x7f && c <= 0x9f)) {
      out += `${s.slice(from, i)}\\x${c.toString(16).padStart(2, '0')}`;
      from = i + 1;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

/**
 * Text on one line: every line break (\r\n, \r or \n) becomes a space, so a name cannot split a row
 * or a heading, and any other control character is shown escaped (`printable`).
 */
export function oneLine(s: string): string {
  return printable(s.replace(/\r\n|\r|\n/g, ' '));
}

/** A Markdown table; a `|` or a line break in a cell cannot split the row. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly string[] = headers.map(() => '---'),
): string[] {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => oneLine(c.replace(/\|/g, '\\|'))).join(' | ')} |`;
  return [line(headers), `|${align.join('|')}|`, ...rows.map(line)];
}

/** A plain-text row: each cell padded to its column's width (0: as wide as it is), trailing space trimmed. */
export function textRow(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((c, i) => printable(c).padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}
