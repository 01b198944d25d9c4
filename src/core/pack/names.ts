import { isUtf8 } from 'node:buffer';

/**
 * File names are bytes on Linux, and the docker CLI sends them as bytes. Node decodes names as UTF-8 and
 * mangles any that are not, so the walk reads names as Buffers and carries a name that is not UTF-8 as a
 * string whose bytes >= 0x80 are lone surrogates U+DC80..U+DCFF (Python's "surrogateescape"). Such a
 * string never comes from valid UTF-8, so the mapping back to bytes is exact.
 */
const ESCAPED = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;
/** A cheaper first test: almost every path has no low surrogate at all. */
const LOW_SURROGATE = /[\uDC80-\uDCFF]/;

/** Decodes a name read as bytes, escaping it when it is not UTF-8. */
export function decodeName(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let text = '';
  for (const byte of bytes) text += byte < 0x80 ? String.fromCharCode(byte) : String.fromCharCode(0xdc00 + byte);
  return text;
}

/** String.prototype.isWellFormed (ES2024, Node 20), which TypeScript's ES2023 library does not declare. */
const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed;

/**
 * True when a name (or a path built from names) carries escaped bytes. An escaped byte is a lone
 * surrogate, so a well-formed string has none: that test, native, takes about half the time of the
 * regular expression on the paths of a context (two or three per file packed).
 */
export function hasEscapedBytes(text: string): boolean {
  return !isWellFormed.call(text) && LOW_SURROGATE.test(text) && ESCAPED.test(text);
}

/** The bytes of a name or path, undoing the escape. */
export function encodeName(text: string): Buffer {
  if (!hasEscapedBytes(text)) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const previous = index > 0 ? text.charCodeAt(index - 1) : 0;
    const lone = code >= 0xdc80 && code <= 0xdcff && !(previous >= 0xd800 && previous <= 0xdbff);
    if (lone) {
      if (run) parts.push(Buffer.from(run, 'utf8'));
      run = '';
      parts.push(Buffer.of(code - 0xdc00));
    } else {
      run += text[index];
    }
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** A path as fs functions should get it: the string itself, or its bytes when it carries escapes. */
export function fsPath(text: string): string | Buffer {
  return hasEscapedBytes(text) ? encodeName(text) : text;
}

/** Bytes a name occupies once written to a tar header. */
export function nameBytes(text: string): number {
  return hasEscapedBytes(text) ? encodeName(text).length : Buffer.byteLength(text);
}
