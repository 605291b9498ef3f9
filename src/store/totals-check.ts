import type { TypeCounts } from './totals.js';

/** The types whose running totals (what `stats` shows) disagree with the items counted. */
export function typesOff(counted: Map<string, TypeCounts>, running: Map<string, TypeCounts>): { type: string; counted: TypeCounts; running: TypeCounts }[] {
  const none: TypeCounts = { items: 0, bytes: 0, inlineItems: 0 };
  const off = [];
  for (const type of new Set([...counted.keys(), ...running.keys()])) {
    const want = counted.get(type) ?? none;
    const have = running.get(type) ?? none;
    if (want.items !== have.items || want.bytes !== have.bytes || want.inlineItems !== have.inlineItems) off.push({ type, counted: want, running: have });
  }
  return off;
}
