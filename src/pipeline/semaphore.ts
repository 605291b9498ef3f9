/**
 * A FIFO counting semaphore: `acquire` resolves when a permit is free, in call order. It can be
 * resized while permits are out: shrinking below what is held leaves `free` negative, and the
 * next releases are kept back until the holders fit the new size.
 */
export class Semaphore {
  private limit: number;
  private free: number;
  private readonly waiters: (() => void)[] = [];
  private head = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`semaphore size must be a positive integer, got ${size}`);
    this.limit = size;
    this.free = size;
  }

  get size(): number {
    return this.limit;
  }

  get available(): number {
    return Math.max(0, this.free);
  }

  resize(size: number): void {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`semaphore size must be a positive integer, got ${size}`);
    const grown = size - this.limit;
    this.limit = size;
    this.free += grown;
    // New permits go to waiters first, as release() would give them.
    while (this.free > 0 && this.waiting > 0) {
      this.free--;
      this.wakeNext();
    }
  }

  get waiting(): number {
    return this.waiters.length - this.head;
  }

  acquire(): Promise<void> {
    if (this.free > 0 && this.waiting === 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    if (this.free >= 0 && this.waiting > 0) this.wakeNext();
    else this.free++;
  }

  private wakeNext(): void {
    const next = this.waiters[this.head]!;
    this.waiters[this.head++] = undefined as unknown as () => void;
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters.splice(0, this.head);
      this.head = 0;
    }
    next();
  }
}
