// Seeded randomness: every choice the soak makes (what to append, which options, when to kill)
// comes from a generator seeded from --seed, so a run's choices can be replayed; only timing differs.

/** mulberry32: small, fast, and the same sequence for the same seed. */
export class Random {
  constructor(seed) {
    this.state = seed >>> 0;
  }

  /** A generator of its own for one loop, so loops running side by side do not share a sequence. */
  static derive(seed, stream) {
    return new Random((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0);
  }

  /** In [0, 1). */
  next() {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min, max) {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p) {
    return this.next() < p;
  }

  pick(items) {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A 32-bit seed for a child process (BWRITE_FAULTS_SEED). */
  seed() {
    return Math.floor(this.next() * 2 ** 32);
  }
}
