/** Where a command prints: data and `--json` on stdout, everything for people on stderr. */
export interface Output {
  data(text: string): void;
  error(text: string, options?: { prefix?: string }): void;
  readonly stderrIsTTY: boolean;
}

// Control characters from the input (an ESC in a bad record echoed by a parse error) must not
// reach a terminal: they are shown escaped, as JSON would write them. Tab stays.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

export function withoutControlCharacters(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const processOutput: Output = {
  data(text) {
    process.stdout.write(text + '\n');
  },
  error(text, options) {
    process.stderr.write(`${options?.prefix ?? ''}${withoutControlCharacters(text)}\n`);
  },
  // A pseudo-terminal without a size (columns 0) cannot hold a bar or a spinner.
  get stderrIsTTY() {
    return Boolean(process.stderr.isTTY) && (process.stderr.columns ?? 0) > 0;
  },
};
