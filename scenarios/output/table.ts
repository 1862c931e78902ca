/** Tables for people: Markdown (reports) and padded plain text (terminal). */

/** Text on one line: every line break (\r\n, \r or \n) becomes a space, so a name cannot split a row or a heading. */
export function oneLine(s: string): string {
  return s.replace(/\r\n|\r|\n/g, ' ');
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
    .map((c, i) => c.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}
