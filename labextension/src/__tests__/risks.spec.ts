/**
 * The risk review's flags on a cell, from metadata.jupyter_agents.risks: read defensively,
 * shown as one line of plain text each.
 */
import {
  displayText,
  flagCount,
  flagsCaption,
  flagText,
  listedCount,
  MAX_LISTED,
  MAX_REASON_LENGTH,
  riskFlags
} from '../risks';

const RMTREE = {
  category: 'delete_files',
  reason: "shutil.rmtree('build') deletes a whole directory tree",
  line: 2
};

describe('riskFlags', () => {
  it('reads the flags the kernel stores, in their order', () => {
    const shell = { category: 'shell', reason: '!ls runs a shell command', line: 5 };
    expect(riskFlags({ status: 'pending', risks: [RMTREE, shell] })).toEqual([RMTREE, shell]);
  });

  it('is empty when nothing was flagged', () => {
    expect(riskFlags({ run_id: 'r', step: 1, status: 'pending' })).toEqual([]);
    expect(riskFlags({ status: 'approved', risks: [] })).toEqual([]);
  });

  it('is empty for anything that is not provenance', () => {
    for (const provenance of [undefined, null, 'risks', [RMTREE], 3]) {
      expect(riskFlags(provenance)).toEqual([]);
    }
    expect(riskFlags({ risks: 'rm -rf' })).toEqual([]);
    expect(riskFlags({ risks: { 0: RMTREE } })).toEqual([]);
  });

  it('skips entries without a reason and keeps what it can of the others', () => {
    const flags = riskFlags({
      risks: [
        null,
        'line 1: x',
        { category: 'shell', line: 1 },
        { reason: 42, line: 1 },
        { reason: '   ', line: 1 },
        { reason: 'no line' },
        { reason: 'bad line', line: 0, category: '' },
        { reason: 'fractional line', line: 1.5, category: 7 },
        { reason: 'string line', line: '3' }
      ]
    });
    expect(flags).toEqual([
      { category: null, reason: 'no line', line: null },
      { category: null, reason: 'bad line', line: null },
      { category: null, reason: 'fractional line', line: null },
      { category: null, reason: 'string line', line: null }
    ]);
  });

  it('makes every reason one visible line', () => {
    const [flag] = riskFlags({ risks: [{ reason: 'os.remove(p)\n  deletes\ta file', line: 1 }] });
    expect(flag.reason).toBe('os.remove(p) deletes a file');
  });
});

describe('flagText', () => {
  it('reads as the review prints a flag', () => {
    expect(flagText(RMTREE)).toBe("line 2: shutil.rmtree('build') deletes a whole directory tree");
    expect(flagText({ category: null, reason: 'the review could not finish', line: null })).toBe(
      'the review could not finish'
    );
  });

  it('cuts a very long reason, by code point, and keeps it whole on request', () => {
    const reason = `open('${'😀'.repeat(MAX_REASON_LENGTH)}', 'w') overwrites the existing file`;
    const flag = { category: 'overwrite_files', reason, line: 3 };
    const shown = flagText(flag);
    expect(shown.startsWith("line 3: open('😀")).toBe(true);
    expect(shown.endsWith('😀…')).toBe(true);
    expect(Array.from(shown.slice('line 3: '.length))).toHaveLength(MAX_REASON_LENGTH);
    expect(flagText(flag, Infinity)).toBe(`line 3: ${reason}`);
  });

  it('leaves markup as text: escaping is the DOM textContent job, not a second one here', () => {
    const reason = "display(HTML('<img src=x onerror=alert(1)>')) & more";
    expect(flagText({ category: null, reason, line: 1 })).toBe(`line 1: ${reason}`);
  });
});

describe('displayText', () => {
  it('turns line breaks into spaces and trims', () => {
    expect(displayText('  a\r\nb\u2028c\td  ')).toBe('a b c d');
  });

  it('shows controls and direction overrides instead of obeying them', () => {
    // "Trojan Source": an override would make the text read differently than it is.
    expect(displayText('os.remove("\u202etxt.exe")')).toBe('os.remove("\\u202etxt.exe")');
    expect(displayText('a\u200bb\u2066c\u0000d\u001be\u0085f\ufeff')).toBe(
      'a\\u200bb\\u2066c\\u0000d\\u001be f\\ufeff'
    );
  });

  it('keeps ordinary text, quotes and non-Latin letters as they are', () => {
    const text = `shutil.rmtree('données/日本') deletes a whole directory tree`;
    expect(displayText(text)).toBe(text);
  });
});

describe('the marker and the list', () => {
  it('counts flags in words', () => {
    expect(flagCount(1)).toBe('1 flag');
    expect(flagCount(3)).toBe('3 flags');
  });

  it('says what was flagged and that it is no guarantee', () => {
    expect(flagsCaption(1, 'pending')).toMatch(
      /^The risk review flagged 1 flag in this proposal\./
    );
    expect(flagsCaption(2, 'approved')).toMatch(/flagged 2 flags in this cell\./);
    expect(flagsCaption(2, null)).toMatch(/not a guarantee/);
  });

  it('lists a handful in full and folds the rest, never a lone one', () => {
    expect(listedCount(0)).toBe(0);
    expect(listedCount(1)).toBe(1);
    expect(listedCount(MAX_LISTED)).toBe(MAX_LISTED);
    expect(listedCount(MAX_LISTED + 1)).toBe(MAX_LISTED - 1); // 2 fold away
    expect(listedCount(40)).toBe(MAX_LISTED - 1);
    expect(listedCount(3, 1)).toBe(0);
  });
});
