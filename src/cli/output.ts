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
  // A pseudo-terminal without a size (columns 0) cannot hold a bar or a spinner.
  get stderrIsTTY() {
    return Boolean(process.stderr.isTTY) && (process.stderr.columns ?? 0) > 0;
  },
};
