import { interruptedExitCode } from './exit-codes.js';

/**
 * First SIGINT/SIGTERM: stop reading and finish cleanly. A second one: leave at once. The handlers
 * stay for the life of the process: a second signal while the run's history is saved, or while
 * the process winds down, still exits 130/143 instead of killing it with no exit code (and main.ts
 * ends such a run itself, before Node's teardown closes these handlers).
 */
export function trapSignals(controller: AbortController): { received: () => NodeJS.Signals | null } {
  let received: NodeJS.Signals | null = null;
  const handler = (signal: NodeJS.Signals) => {
    if (received) process.exit(interruptedExitCode(signal));
    received = signal;
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return { received: () => received };
}
