/**
 * Characters that make a cell read otherwise than it runs, made visible (the same set as
 * `jupyter_agents/text/hidden_text.py`). Text-direction controls (U+202A-U+202E, U+2066-U+2069,
 * LRM, RLM, ALM) reorder the code around them on screen while Python runs it in stored order
 * (Trojan Source); zero-width and other invisible characters hide text; control characters
 * show as nothing. The editor keeps the code as it is (it is what runs): these lines are
 * shown again above it, each such character as a marker, `⟨U+202E⟩`.
 *
 * Pure: what to show, as plain strings.
 */

/** Controls (but tab and newline), text-direction and invisible characters. */
const HIDDEN =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
/** The same, to ask whether a line has any (a global pattern's `test` keeps state). */
const ANY_HIDDEN = new RegExp(HIDDEN.source);

/** Up to this many lines are shown; a longer line is cut (the editor has all of it). */
export const MAX_HIDDEN_LINES = 6;
export const MAX_LINE_LENGTH = 200;

/** A piece of a line: text as written, or a hidden character as its marker. */
export interface IHiddenPart {
  text: string;
  hidden: boolean;
}

/** A line of the cell that holds hidden characters, in pieces. */
export interface IHiddenLine {
  /** 1-based, as the risk review counts. */
  line: number;
  parts: IHiddenPart[];
}

/** `⟨U+202E⟩` */
export function marker(char: string): string {
  const hex = (char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  return `\u27e8U+${hex}\u27e9`;
}

/** The lines of `source` with hidden characters, in order; [] when there are none. */
export function hiddenLines(source: string): IHiddenLine[] {
  const found: IHiddenLine[] = [];
  source.split('\n').forEach((text, index) => {
    if (!ANY_HIDDEN.test(text)) {
      return;
    }
    const parts: IHiddenPart[] = [];
    let last = 0;
    const line = text.length > MAX_LINE_LENGTH ? `${text.slice(0, MAX_LINE_LENGTH)}…` : text;
    for (const match of line.matchAll(HIDDEN)) {
      const at = match.index ?? 0;
      if (at > last) {
        parts.push({ text: line.slice(last, at), hidden: false });
      }
      parts.push({ text: marker(match[0]), hidden: true });
      last = at + match[0].length;
    }
    if (last < line.length) {
      parts.push({ text: line.slice(last), hidden: false });
    }
    found.push({ line: index + 1, parts });
  });
  return found;
}
