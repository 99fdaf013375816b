/**
 * Hidden characters in a cell's code: the lines that hold them, with each shown as a marker.
 */
import { hiddenLines, marker, MAX_LINE_LENGTH } from '../hidden';

const TROJAN = 'ok = False\n# check \u202e } \u2066if ok:\u2069 \u2066 # begin\nran = 1';

describe('hiddenLines', () => {
  it('finds the lines with text-direction characters and marks each one', () => {
    expect(hiddenLines(TROJAN)).toEqual([
      {
        line: 2,
        parts: [
          { text: '# check ', hidden: false },
          { text: '\u27e8U+202E\u27e9', hidden: true },
          { text: ' } ', hidden: false },
          { text: '\u27e8U+2066\u27e9', hidden: true },
          { text: 'if ok:', hidden: false },
          { text: '\u27e8U+2069\u27e9', hidden: true },
          { text: ' ', hidden: false },
          { text: '\u27e8U+2066\u27e9', hidden: true },
          { text: ' # begin', hidden: false }
        ]
      }
    ]);
  });

  it('marks zero-width, invisible and control characters too, but not tabs', () => {
    const lines = hiddenLines("a = 'x\u200b'\n\tb = '\u001b[2K'\nc = '\ufeff\u2060'");
    expect(lines.map(line => line.line)).toEqual([1, 2, 3]);
    const shown = lines.map(line => line.parts.map(part => part.text).join(''));
    expect(shown).toEqual([
      "a = 'x\u27e8U+200B\u27e9'",
      "\tb = '\u27e8U+001B\u27e9[2K'",
      "c = '\u27e8U+FEFF\u27e9\u27e8U+2060\u27e9'"
    ]);
  });

  it('leaves visible text alone', () => {
    expect(hiddenLines("name = 'Ünïcödé → 東京'\nprint(name)")).toEqual([]);
  });

  it('cuts a long line', () => {
    const [line] = hiddenLines('\u202e' + 'x'.repeat(1000));
    const text = line.parts.map(part => part.text).join('');
    expect(text.endsWith('…')).toBe(true);
    expect(text.length).toBeLessThan(MAX_LINE_LENGTH + 10);
  });
});

describe('marker', () => {
  it('names the code point', () => {
    expect(marker('\u202e')).toBe('\u27e8U+202E\u27e9');
    expect(marker('\u0007')).toBe('\u27e8U+0007\u27e9');
  });
});
