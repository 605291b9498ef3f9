/** Where a command prints: data and `--json` on stdout, everything for people on stderr. */
export interface Output {
  data(text: string): void;
  error(text: string, options?: { prefix?: string }): void;
  readonly stderrIsTTY: boolean;
}

export const processOutput: Output = {
  data(text) {
    process.stdout.write(text + '\n');
  },
  error(text, options) {
    process.stderr.write(`${options?.prefix ?? ''}${text}\n`);
  },
  get stderrIsTTY() {
    return Boolean(process.stderr.isTTY);
  },
};
