/**
 * JSON.parse turns 9007199254740993 into 9007199254740992 and 1e400 into Infinity. A key made
 * from such a number would silently merge distinct records, so when a key field's parsed value is
 * a number that is not a safe integer, the record's text is parsed again with every such number
 * token turned into a JSON string of its source text, and the key field read from there.
 * This runs only on that rare path: plain string and small-integer keys never get here.
 */

/**
 * `text` (already known to be valid JSON) with every number token outside strings whose value is
 * not a safe integer replaced by a JSON string of its source text (`1e400` → `"1e400"`).
 */
export function unsafeNumbersAsStrings(text: string): string {
  let out = '';
  let kept = 0;
  let at = 0;
  const length = text.length;
  while (at < length) {
    const c = text.charCodeAt(at);
    if (c === 0x22 /* " */) {
      at = stringEnd(text, at + 1);
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = at;
      while (at < length && isNumberChar(text.charCodeAt(at))) at++;
      const token = text.slice(start, at);
      if (!Number.isSafeInteger(Number(token))) {
        out += `${text.slice(kept, start)}"${token}"`;
        kept = at;
      }
    } else {
      at++;
    }
  }
  return kept === 0 ? text : out + text.slice(kept);
}

/** Just past the quote closing a string whose content starts at `from`. */
function stringEnd(text: string, from: number): number {
  let at = from;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) return text.length;
    let slashes = 0;
    while (text.charCodeAt(quote - slashes - 1) === 0x5c /* \ */ && quote - slashes - 1 >= from) slashes++;
    if (slashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

/** Digits, sign, decimal point and exponent: what a JSON number token is made of. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

/** The record parsed with unsafe numbers kept as their source text; null if that fails. */
export function parseExact(text: string): unknown {
  try {
    return JSON.parse(unsafeNumbersAsStrings(text));
  } catch {
    return null;
  }
}
