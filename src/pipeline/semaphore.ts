/** A FIFO counting semaphore: `acquire` resolves when a permit is free, in call order. */
export class Semaphore {
  readonly size: number;
  private free: number;
  private readonly waiters: (() => void)[] = [];
  private head = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`semaphore size must be a positive integer, got ${size}`);
    this.size = size;
    this.free = size;
  }

  get available(): number {
    return this.free;
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
    if (this.head < this.waiters.length) {
      const next = this.waiters[this.head]!;
      this.waiters[this.head++] = undefined as unknown as () => void;
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters.splice(0, this.head);
        this.head = 0;
      }
      next();
      return;
    }
    this.free++;
  }
}
