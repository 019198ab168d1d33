import Table from 'cli-table3';

/**
 * Layout for every screen of the CLI, as pure functions of text and a width:
 * how wide to draw, where a line may break, how columns share the width.
 * Nothing here knows what the text means.
 */

/** Narrowest screen anything is laid out for: a narrower terminal wraps it itself. */
export const MIN_WIDTH = 80;
/**
 * Width when the output is not a terminal (a pipe, a file, CI logs): fixed, so
 * logs and pasted output do not depend on whoever ran the command.
 */
export const NON_TTY_WIDTH = 80;

/** The terminal's width (at least {@link MIN_WIDTH}), or {@link NON_TTY_WIDTH} when not a TTY. */
export const screenWidth = (out?: { isTTY?: boolean; columns?: number }): number =>
  out?.isTTY && out.columns ? Math.max(MIN_WIDTH, out.columns) : NON_TTY_WIDTH;

/** Width as a terminal counts it: code points (the screens use no double-width characters). */
export const textWidth = (s: string): number => [...s].length;

/** Characters after which a token too long for a line may break: paths, URLs, ARNs, keys. */
const BREAK_AFTER = new Set(['/', '-', '.', ':', '_']);

/**
 * The longest head of `token` that fits in `room`, cut just after a break
 * character; a hard cut at `room` only when `hard` (no break point at all).
 */
const headOf = (token: string, room: number, hard: boolean): string | undefined => {
  const chars = [...token];
  for (let i = Math.min(room, chars.length - 1); i > 0; i--) {
    if (BREAK_AFTER.has(chars[i - 1] ?? '')) return chars.slice(0, i).join('');
  }
  return hard && room > 0 ? chars.slice(0, room).join('') : undefined;
};

/**
 * Wraps `text` to `width`: at spaces; a token longer than a whole line also
 * after `/`, `-`, `.`, `:` or `_`, and mid-token only when a piece has no
 * such character. Continuation lines start with `indent` spaces (a hanging
 * indent); each line of `text` keeps its own leading spaces. Every
 * non-space character is kept, so ids and keys stay copyable.
 */
export const wrap = (text: string, width: number, indent = 0): string =>
  text
    .split('\n')
    .map((line) => wrapLine(line, width, indent))
    .join('\n');

const wrapLine = (line: string, width: number, indent: number): string => {
  if (textWidth(line) <= width) return line;
  const lead = /^ */.exec(line)?.[0] ?? '';
  // A hanging indent that would leave a sliver of a line is dropped.
  const hang = ' '.repeat(width - indent >= 16 ? indent : 0);
  const out: string[] = [];
  let cur = lead;
  let fresh = true; // nothing but the line's prefix in `cur` yet
  const push = () => {
    out.push(cur.trimEnd());
    cur = hang;
    fresh = true;
  };
  // Each word with the spaces before it, so aligned text keeps its spacing.
  for (const [, spaces = '', word = ''] of line.slice(lead.length).matchAll(/( *)([^ ]+)/g)) {
    const sep = spaces.length;
    let rest = word;
    for (;;) {
      const room = width - textWidth(cur) - (fresh ? 0 : sep);
      if (textWidth(rest) <= room) {
        cur += (fresh ? '' : spaces) + rest;
        fresh = false;
        break;
      }
      // A token that fits on a line of its own moves there whole.
      if (textWidth(rest) <= width - textWidth(hang) && !fresh) {
        push();
        continue;
      }
      const head = headOf(rest, room, fresh);
      if (head === undefined) {
        push();
        continue;
      }
      cur += (fresh ? '' : spaces) + head;
      rest = rest.slice(head.length);
      push();
    }
  }
  if (!fresh || out.length === 0) out.push(cur.trimEnd());
  return out.join('\n');
};

/** `s` cut to `max` characters at a space when there is one, marked with `…`. */
export const clip = (s: string, max: number): string => {
  if (textWidth(s) <= max) return s;
  const cut = [...s].slice(0, Math.max(0, max - 1)).join('');
  const space = cut.lastIndexOf(' ');
  return `${space >= max / 2 ? cut.slice(0, space).trimEnd() : cut}…`;
};

/** At most `maxLines` lines of at most `width`, the last marked with `…` when lines were dropped. */
export const clampLines = (text: string, maxLines: number, width: number): string => {
  const lines = text.split('\n');
  if (lines.length <= maxLines) return text;
  const kept = lines.slice(0, maxLines);
  const last = [...(kept[maxLines - 1] ?? '')];
  kept[maxLines - 1] = `${last.slice(0, Math.max(0, width - 1)).join('')}…`;
  return kept.join('\n');
};

/**
 * Column widths that fit `available`: each column's natural width, the widest
 * shrinkable ones narrowed first, never below their minimum. The result can
 * exceed `available` only when the minimums do.
 */
export const fitColumns = (
  natural: readonly number[],
  min: readonly number[],
  available: number
): number[] => {
  const widths = natural.map((n, i) => Math.max(n, min[i] ?? 0));
  let excess = widths.reduce((a, b) => a + b, 0) - available;
  while (excess > 0) {
    let widest = -1;
    widths.forEach((w, i) => {
      if (w > (min[i] ?? 0) && (widest < 0 || w > (widths[widest] ?? 0))) widest = i;
    });
    if (widest < 0) break;
    widths[widest] = (widths[widest] ?? 0) - 1;
    excess--;
  }
  return widths;
};

export interface ColumnSpec {
  /** Never narrower than its content (statuses, counts, times): the others wrap instead. */
  readonly keep?: boolean;
  /** Lines a wrapped cell may take before it is cut. */
  readonly maxLines?: number;
  /** Never narrower than this (a status at the start of a cell that goes on). */
  readonly min?: number;
}

const longestLine = (s: string): number => Math.max(0, ...s.split('\n').map(textWidth));
const longestWord = (s: string): number => Math.max(0, ...s.split(/[\s]+/).map(textWidth));

/** A shrinkable column is never narrower than this (or its content)… */
const SHRINK_FLOOR = 8;
/** …and, when the screen has room, than its longest word up to this: longer tokens break at `/`, `-`. */
const WORD_CAP = 16;

/** Cells wrapped to widths that fit `available` (content only: the caller adds borders, gaps). */
const fitCells = (
  head: readonly string[],
  rows: readonly (readonly string[])[],
  available: number,
  specs: readonly ColumnSpec[]
): { widths: number[]; cells: string[][] } => {
  const all = [head, ...rows];
  const natural = head.map((_, i) => Math.max(...all.map((r) => longestLine(r[i] ?? ''))));
  const floor = natural.map((n, i) =>
    specs[i]?.keep
      ? n
      : Math.min(n, Math.max(SHRINK_FLOOR, specs[i]?.min ?? 0, longestWord(head[i] ?? '')))
  );
  // Whole words where the minimums leave room for them; else the columns with
  // the longest words give theirs up first (they break at `/`, `-`, `.`).
  const words = floor.map((f, i) => {
    if (specs[i]?.keep) return f;
    const word = Math.max(...all.map((r) => longestWord(r[i] ?? '')));
    return Math.min(natural[i] ?? 0, Math.max(f, Math.min(WORD_CAP, word)));
  });
  const min = [...words];
  const sum = () => min.reduce((a, b) => a + b, 0);
  while (sum() > available) {
    let give = -1;
    min.forEach((m, i) => {
      if (m > (floor[i] ?? 0) && (give < 0 || m > (min[give] ?? 0))) give = i;
    });
    if (give < 0) break;
    min[give] = floor[give] ?? 0;
  }
  const widths = fitColumns(natural, min, available);
  const cells = rows.map((r) =>
    head.map((_, i) => {
      const text = wrap(r[i] ?? '', widths[i] ?? 1, 2);
      const maxLines = specs[i]?.maxLines;
      return maxLines ? clampLines(text, maxLines, widths[i] ?? 1) : text;
    })
  );
  return { widths, cells };
};

const plainStyle = { head: [] as string[], border: [] as string[] };

/**
 * A bordered table at most `width` wide and no wider than its content: cells
 * wrap (with a hanging indent) rather than truncate, kept columns never wrap.
 * Rules between rows only when some row spans several lines.
 */
export const boxTable = (
  head: readonly string[],
  rows: readonly (readonly string[])[],
  width: number,
  specs: readonly ColumnSpec[] = []
): string => {
  // Each column: one border and 1+1 padding; plus the closing border.
  const { widths, cells } = fitCells(head, rows, width - head.length * 3 - 1, specs);
  const table = new Table({
    head: head.map((h, i) => wrap(h, widths[i] ?? 1)),
    colWidths: widths.map((w) => w + 2),
    style: { ...plainStyle, 'padding-left': 1, 'padding-right': 1 },
  });
  table.push(...cells);
  return withRowRules(table.toString(), cells);
};

/**
 * cli-table3 draws the header rule with the same characters as the row
 * rules, so the row rules are dropped from its output rather than configured
 * away, when every row is one line.
 */
const withRowRules = (table: string, cells: readonly string[][]): string => {
  if (cells.some((row) => row.some((c) => c.includes('\n')))) return table;
  let seenHeaderRule = false;
  return table
    .split('\n')
    .filter((line) => {
      if (!line.startsWith('├')) return true;
      if (seenHeaderRule) return false;
      seenHeaderRule = true;
      return true;
    })
    .join('\n');
};

/**
 * Borderless aligned columns (the live view): `lead` before each row, `gap`
 * spaces between cells, at most `width` wide; a cell that does not fit wraps
 * inside its column. One string per row, its lines joined with `\n`.
 */
export const alignColumns = (
  rows: readonly (readonly string[])[],
  width: number,
  specs: readonly ColumnSpec[] = [],
  lead = '',
  gap = 2
): string[] => {
  if (rows.length === 0) return [];
  // Columns empty in every row take no room (and no gap).
  const shown = Array.from({ length: Math.max(...rows.map((r) => r.length)) }, (_, i) => i).filter(
    (i) => rows.some((r) => (r[i] ?? '') !== '')
  );
  const count = shown.length;
  const head = shown.map(() => '');
  const available = width - textWidth(lead) - gap * (count - 1);
  const { widths, cells } = fitCells(
    head,
    rows.map((r) => shown.map((i) => r[i] ?? '')),
    available,
    shown.map((i) => specs[i] ?? {})
  );
  return cells.map((row) => {
    const split = row.map((c) => c.split('\n'));
    const height = Math.max(...split.map((l) => l.length));
    const lines: string[] = [];
    for (let i = 0; i < height; i++) {
      const parts = split.map((l, c) => {
        const text = l[i] ?? '';
        return c === count - 1 ? text : text + ' '.repeat((widths[c] ?? 0) - textWidth(text));
      });
      lines.push(`${lead}${parts.join(' '.repeat(gap))}`.trimEnd());
    }
    return lines.join('\n');
  });
};
