import { DEFAULT_MAX_LINE_BYTES } from './line-splitter';

export interface TextLine {
  text: string;
  continued: boolean;
}

/**
 * Assembles text into lines the way a terminal shows them: '\n' ends a line, a lone '\r' returns to the
 * start so progress redraws collapse into their last state. ANSI colour codes pass through untouched.
 * A line longer than the cap is handed out in pieces marked continued.
 */
export class TerminalLines {
  private current = '';
  private returned = false;

  constructor(private readonly maxLineChars = DEFAULT_MAX_LINE_BYTES) {}

  /** True when no line is under way: a whole line fed now comes out as it is. */
  get idle(): boolean {
    return this.current.length === 0 && !this.returned;
  }

  /** Feeds text; returns the lines it completed. */
  push(text: string): TextLine[] {
    const lines: TextLine[] = [];
    // Most text has no '\r': it is cut at each '\n' with native searches, not a loop over characters.
    if (!this.returned && text.indexOf('\r') === -1) {
      let start = 0;
      for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
        if (this.current.length === 0 && newline - start <= this.maxLineChars) {
          lines.push({ text: text.slice(start, newline), continued: false });
        } else {
          this.append(text.slice(start, newline), lines);
          lines.push({ text: this.current, continued: false });
          this.current = '';
        }
        start = newline + 1;
      }
      this.append(text.slice(start), lines);
      return lines;
    }
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const char = text.charCodeAt(i);
      if (this.returned) {
        // "\r\n" ends the line; a lone "\r" starts it over.
        this.returned = false;
        if (char !== 10) this.current = '';
      }
      if (char === 10) {
        this.append(text.slice(start, i), lines);
        lines.push({ text: this.current, continued: false });
        this.current = '';
        start = i + 1;
      } else if (char === 13) {
        this.append(text.slice(start, i), lines);
        this.returned = true;
        start = i + 1;
      }
    }
    this.append(text.slice(start), lines);
    return lines;
  }

  /** Ends the stream; returns the last line if it had no newline. */
  end(): TextLine[] {
    const last = this.current;
    this.current = '';
    this.returned = false;
    return last.length > 0 ? [{ text: last, continued: false }] : [];
  }

  private append(piece: string, lines: TextLine[]): void {
    if (piece.length === 0) return;
    this.current += piece;
    while (this.current.length > this.maxLineChars) {
      let cut = this.maxLineChars;
      const code = this.current.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut -= 1; // never split a surrogate pair
      lines.push({ text: this.current.slice(0, cut), continued: true });
      this.current = this.current.slice(cut);
    }
  }
}
