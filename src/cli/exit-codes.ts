/** The exit code of a run a signal interrupted: the shell's 128 + the signal's number. */
export function interruptedExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

export function isInterruptedExitCode(code: number): boolean {
  return code === 130 || code === 143;
}
