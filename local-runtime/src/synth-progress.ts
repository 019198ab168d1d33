/**
 * What `cdk synth` is doing, as one line. The CLI prints a "Bundling asset
 * <Stack>/<Construct>/Resource/Code/Stage..." line before each esbuild run (aws-cdk-lib
 * NodejsFunction bundling), then writes the template and stages the assets
 * (the 157 MB ffmpeg layer is copied then) without a word: that silence is what
 * made the demo look hung for a minute.
 */

export interface SynthProgress {
  /** Functions bundled so far (the one being bundled included). */
  readonly bundled: number;
  /** How many the last synth bundled, when known (recorded in cdk.out). */
  readonly expected?: number;
  /** The construct being bundled, or undefined before the first / after the last. */
  readonly current?: string;
  /** Bundling is over: the CLI is writing the template and staging assets. */
  readonly staging: boolean;
}

export const START: SynthProgress = { bundled: 0, staging: false };

const BUNDLING = /^Bundling asset (\S+?)\.{3}\s*$/;

/** The construct a "Bundling asset" line names (`VideoPipeline/Probe/Resource/Code/Stage` -> Probe). */
export const constructOf = (assetPath: string): string => {
  const parts = assetPath.split('/');
  const code = parts.lastIndexOf('Code');
  const owner = parts.slice(1, code > 0 ? code : parts.length).filter((p) => p !== 'Resource');
  return owner.join('/') || assetPath;
};

/** The state after one output line; unchanged for lines that say nothing about progress. */
export function advance(state: SynthProgress, line: string): SynthProgress {
  const m = BUNDLING.exec(line.trim());
  if (m)
    return { ...state, bundled: state.bundled + 1, current: constructOf(m[1]), staging: false };
  // esbuild's summary closes a bundle; what follows until the next one is staging.
  if (/^⚡ Done in /u.test(line.trim())) return { ...state, current: undefined, staging: true };
  return state;
}

/** One line of text for a state (no terminal codes). */
export function progressLine(state: SynthProgress): string {
  const count = state.expected
    ? `${state.bundled}/${Math.max(state.expected, state.bundled)}`
    : `${state.bundled}`;
  if (state.current) return `synthesizing: bundling ${state.current} (${count})…`;
  if (state.staging && state.expected !== undefined && state.bundled >= state.expected) {
    return 'synthesizing: writing the template and staging assets (the ffmpeg layer)…';
  }
  if (state.staging) return `synthesizing: bundled ${count}…`;
  return 'synthesizing: loading the app (bin/, lib/)…';
}

/**
 * What to write for a state. On a TTY: the line rewritten in place (carriage
 * return, erase line), cut to the terminal's width so it never wraps. Otherwise:
 * the line and a newline, and nothing when it repeats the previous one (a CI log
 * gets one line per step, not one per output line).
 */
export function render(
  state: SynthProgress,
  previous: string | undefined,
  out: { readonly isTTY: boolean; readonly columns?: number }
): { readonly text: string; readonly line: string } {
  const line = progressLine(state);
  if (!out.isTTY) return { text: line === previous ? '' : `${line}\n`, line };
  // A pseudo-terminal without a size reports 0 columns.
  const width = Math.max((out.columns || 80) - 1, 10);
  const shown = line.length > width ? `${line.slice(0, width - 1)}…` : line;
  return { text: `\r\x1b[2K${shown}`, line };
}
