/** A run of text with the SGR attributes it is drawn with. */
export interface AnsiSpan {
  text: string;
  fg: string | null;
  bg: string | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

// The 16 base colours as CSS variables, so the light and dark themes can each pick readable ones.
const BASE = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];
const baseColour = (index: number, bright: boolean) => `var(--ansi-${bright ? 'bright-' : ''}${BASE[index]})`;

function xterm256(n: number): string {
  if (n < 8) return baseColour(n, false);
  if (n < 16) return baseColour(n - 8, true);
  if (n < 232) {
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    const c = n - 16;
    return `rgb(${level(Math.floor(c / 36))}, ${level(Math.floor(c / 6) % 6)}, ${level(c % 6)})`;
  }
  const grey = 8 + (n - 232) * 10;
  return `rgb(${grey}, ${grey}, ${grey})`;
}

// CSI sequences; only "m" (SGR) changes how text looks, the others (cursor moves, erase) are dropped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC.
const CSI = /\u001b\[([0-9;?]*)([A-Za-z])/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: other escapes and control characters are dropped.
const OTHER_CONTROL = /\u001b[^[]|[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** Splits a log line into styled spans by its ANSI SGR escapes; other escapes are removed. */
export function parseAnsi(line: string): AnsiSpan[] {
  const spans: AnsiSpan[] = [];
  let style: Omit<AnsiSpan, 'text'> = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };
  let last = 0;
  const push = (text: string) => {
    const clean = text.replace(OTHER_CONTROL, '');
    if (clean) spans.push({ text: clean, ...style });
  };
  for (const match of line.matchAll(CSI)) {
    push(line.slice(last, match.index));
    last = (match.index ?? 0) + match[0].length;
    if (match[2] !== 'm') continue;
    const codes = (match[1] || '0').split(';').map((code) => Number(code) || 0);
    style = { ...style };
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i] as number;
      if (code === 0) style = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };
      else if (code === 1) style.bold = true;
      else if (code === 2) style.dim = true;
      else if (code === 3) style.italic = true;
      else if (code === 4) style.underline = true;
      else if (code === 22) style.bold = style.dim = false;
      else if (code === 23) style.italic = false;
      else if (code === 24) style.underline = false;
      else if (code >= 30 && code <= 37) style.fg = baseColour(code - 30, false);
      else if (code === 39) style.fg = null;
      else if (code >= 40 && code <= 47) style.bg = baseColour(code - 40, false);
      else if (code === 49) style.bg = null;
      else if (code >= 90 && code <= 97) style.fg = baseColour(code - 90, true);
      else if (code >= 100 && code <= 107) style.bg = baseColour(code - 100, true);
      else if (code === 38 || code === 48) {
        let colour: string | null = null;
        if (codes[i + 1] === 5) {
          colour = xterm256(codes[i + 2] ?? 0);
          i += 2;
        } else if (codes[i + 1] === 2) {
          colour = `rgb(${codes[i + 2] ?? 0}, ${codes[i + 3] ?? 0}, ${codes[i + 4] ?? 0})`;
          i += 4;
        }
        if (code === 38) style.fg = colour;
        else style.bg = colour;
      }
    }
  }
  push(line.slice(last));
  return spans;
}

/** The line's text without escapes: what is copied, saved from the window, and searched for highlights. */
export function stripAnsi(line: string): string {
  return parseAnsi(line)
    .map((span) => span.text)
    .join('');
}
