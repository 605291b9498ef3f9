export type FieldsResult = { fields: string[] } | { error: string };

/**
 * Splits one record's text (its line end removed) into fields. With quoting, a field that starts
 * with `"` runs to the matching quote (`""` is a quote, line ends are data) and must be followed
 * by a delimiter or the end; a quote anywhere else is an error, as csv-parse and RFC 4180 have it,
 * unless `relaxQuotes`: then a quote inside an unquoted field is data (`12" pipe`), as Python's
 * csv module and csv-parse's relax_quotes read it.
 */
export function splitFields(text: string, delimiter: string, quoting: boolean, relaxQuotes = false): FieldsResult {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    const number = fields.length + 1;
    if (quoting && text.charCodeAt(i) === 0x22) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = text.indexOf('"', from);
        // The record splitter ends a record only outside quotes; an unclosed one is reported there.
        if (quote === -1) return { error: `field ${number} opens a quote that is never closed` };
        value += text.slice(from, quote);
        if (text.charCodeAt(quote + 1) !== 0x22) {
          i = quote + 1;
          break;
        }
        value += '"';
        from = quote + 2;
      }
      fields.push(value);
      if (i === text.length) return { fields };
      if (!text.startsWith(delimiter, i)) {
        return { error: `field ${number} has text after its closing quote; a quote inside a quoted field must be doubled ("")` };
      }
    } else {
      const next = text.indexOf(delimiter, i);
      const value = next === -1 ? text.slice(i) : text.slice(i, next);
      if (quoting && !relaxQuotes && value.includes('"')) {
        return { error: `field ${number} has a quote inside an unquoted value; quote the whole field and double the quote ("a""b"), or add --relax-quotes to read it as data` };
      }
      fields.push(value);
      if (next === -1) return { fields };
      i = next;
    }
    i += delimiter.length;
  }
}
