/**
 * The static risk review's flags on an agent cell, from `metadata.jupyter_agents.risks`
 * (docs/risk.md, "Reading a flag"): `[{category, reason, line}]`, present only when something
 * was flagged. A pending cell carries the flags of the proposal, a cell that ran those of the
 * code that ran.
 *
 * Pure: what to show, as plain strings. The reasons quote the cell's code, which the model
 * wrote, so they are untrusted text: the caller puts them in the page with `textContent` only,
 * and here they are reduced to one line with invisible and direction-changing characters made
 * visible, so a reason cannot hide or reorder what it says.
 */
import { isObject } from './protocol';

/** One flag, as far as the metadata could be read. */
export interface IRiskFlag {
  /** The review's category (`delete_files`, `shell`, ...), or null if missing. */
  category: string | null;
  /** One line, safe to show as text (see `displayText`). */
  reason: string;
  /** The 1-based line in the cell, or null if missing or not a positive integer. */
  line: number | null;
}

/** Reasons are one line in practice; a longer one is cut here (the full text is its title). */
export const MAX_REASON_LENGTH = 300;

/** Up to this many flags are listed on the cell; beyond it, the rest fold into "N more". */
export const MAX_LISTED = 6;

/** The flags of a cell's provenance, in their stored order; [] when there are none. */
export function riskFlags(provenance: unknown): IRiskFlag[] {
  if (!isObject(provenance) || !Array.isArray(provenance.risks)) {
    return [];
  }
  const flags: IRiskFlag[] = [];
  for (const entry of provenance.risks) {
    if (!isObject(entry) || typeof entry.reason !== 'string') {
      continue;
    }
    const reason = displayText(entry.reason);
    if (reason === '') {
      continue;
    }
    const line = entry.line;
    flags.push({
      category: typeof entry.category === 'string' && entry.category ? entry.category : null,
      reason,
      line: typeof line === 'number' && Number.isInteger(line) && line > 0 ? line : null
    });
  }
  return flags;
}

/** A flag as one line, the way the review prints it: "line 2: shutil.rmtree('x') deletes …". */
export function flagText(flag: IRiskFlag, maxLength = MAX_REASON_LENGTH): string {
  const reason = truncate(flag.reason, maxLength);
  return flag.line === null ? reason : `line ${flag.line}: ${reason}`;
}

/** The marker's words: "1 flag", "3 flags". */
export function flagCount(count: number): string {
  return `${count} ${count === 1 ? 'flag' : 'flags'}`;
}

/** What the marker's tooltip says, for a cell with this status. */
export function flagsCaption(count: number, status: string | null): string {
  const what = status === 'pending' ? 'this proposal' : 'this cell';
  return (
    `The risk review flagged ${flagCount(count)} in ${what}. ` +
    'A reading aid, not a guarantee: read the code before you approve it.'
  );
}

/**
 * How many flags to list in full: all of them up to `limit`, otherwise one line fewer than
 * `limit`, so that what folds away is always at least two flags (never a lone "1 more").
 */
export function listedCount(total: number, limit = MAX_LISTED): number {
  return total <= limit ? total : Math.max(limit - 1, 0);
}

/**
 * Untrusted text as one visible line: line breaks and tabs become spaces, runs of spaces
 * shrink to one, and control, zero-width and bidirectional formatting characters are shown
 * as `\uXXXX` escapes instead of acting on the text around them.
 */
export function displayText(text: string): string {
  return text
    .replace(/[\t\n\v\f\r\u0085\u2028\u2029]+/g, ' ')
    .replace(INVISIBLE, char => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/ {2,}/g, ' ')
    .trim();
}

/**
 * C0 and C1 controls, zero-width characters, bidi marks, embeddings, overrides and isolates,
 * and the byte order mark.
 */
const INVISIBLE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

function truncate(text: string, maxLength: number): string {
  const chars = Array.from(text); // by code point, so an emoji is never cut in half
  return chars.length <= maxLength ? text : `${chars.slice(0, maxLength - 1).join('')}…`;
}
