// The soak's inputs: NDJSON logs that grow while the importers read them. Each keeps the text of
// every line it wrote, from which the checks know what the store must hold in the end.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Keys per input; a skew towards the first ones makes some keys change many times. */
const KEYS_PER_INPUT = 400;
const BAD_LINE_RATE = 0.015;
/** How often a burst ends in a line whose end is not written yet, as a writer caught mid-line. */
const CUT_LAST_LINE_RATE = 0.3;
const BURST_EVERY_MS = { min: 50, max: 250 };

/**
 * One log file. Its keys (`f<index>-k<n>`) appear in no other input, so the value a key must end
 * with depends on this file alone; `v` is the line number, so a stored value names its line.
 */
export class GrowingInput {
  constructor(file, index, random) {
    this.file = file;
    this.index = index;
    this.random = random;
    /** Line n (1-based) is lines[n - 1]: its text, and its key (null for a line that must fail). */
    this.lines = [];
    /** The rest of a line written without its end so far. */
    this.tail = '';
    this.fd = fs.openSync(file, 'a', 0o600);
  }

  get badLines() {
    return this.lines.filter((line) => line.key === null).length;
  }

  /** Appends `count` new lines, sometimes leaving the last one cut short until the next burst. */
  appendBurst(count) {
    let text = this.tail;
    this.tail = '';
    for (let i = 0; i < count; i++) text += `${this.newLine()}\n`;
    if (this.random.chance(CUT_LAST_LINE_RATE)) {
      const last = `${this.lines.at(-1).text}\n`;
      // At least one byte of the line is written; at most, all of it but its line end.
      this.tail = last.slice(this.random.int(1, last.length - 1));
      text = text.slice(0, text.length - this.tail.length);
    }
    fs.writeSync(this.fd, text);
  }

  /** Completes a line left without its end, and stops growing. */
  finish() {
    if (this.fd === null) return;
    if (this.tail) fs.writeSync(this.fd, this.tail);
    this.tail = '';
    this.close();
  }

  close() {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  newLine() {
    const v = this.lines.length + 1;
    if (this.random.chance(BAD_LINE_RATE)) {
      const text = this.random.chance(0.5) ? JSON.stringify({ v, note: 'this record has no id' }) : `not json at line ${v} {"id":`;
      this.lines.push({ text, key: null });
      return text;
    }
    const key = `f${this.index}-k${String(Math.floor(KEYS_PER_INPUT * this.random.next() ** 2)).padStart(4, '0')}`;
    const text = JSON.stringify({ id: key, v, pad: 'x'.repeat(this.padSize()) });
    this.lines.push({ text, key });
    return text;
  }

  /** Mostly small values (inline by default), some medium, a few over the default --inline-max. */
  padSize() {
    const r = this.random.next();
    if (r < 0.7) return this.random.int(10, 200);
    if (r < 0.95) return this.random.int(300, 2_000);
    return this.random.int(17_000, 40_000);
  }
}

/** Appends bursts to `input` at about `linesPerSecond` until `state` says growth stops, then completes its last line. */
export async function growInput(state, input, linesPerSecond) {
  const meanBurst = (linesPerSecond * (BURST_EVERY_MS.min + BURST_EVERY_MS.max)) / 2 / 1000;
  while (state.growing) {
    input.appendBurst(input.random.int(1, Math.max(1, Math.round(2 * meanBurst - 1))));
    await sleep(input.random.int(BURST_EVERY_MS.min, BURST_EVERY_MS.max));
  }
  input.finish();
}
