/**
 * Crash safety on SIGINT and SIGTERM. Code that writes through temp paths
 * registers them here while they exist; when the process is interrupted the
 * registered paths are removed (synchronously, in the signal handler) before
 * it exits with 128 + the signal number, so an interrupted command leaves no
 * partial output behind. Final renames happen in synchronous runs of code, so
 * a signal is handled either before an output appears or after it is whole.
 */
import { rmSync } from 'node:fs';

const pending = new Map<number, string>();
let nextId = 1;
let installed = false;
let handedOver = false;
const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

/**
 * A command that handles SIGINT/SIGTERM itself (the server drains in-flight
 * requests and exits 0) takes the signals over: the exit-on-signal handlers
 * stand aside, and only the removal of registered temp paths remains.
 */
export function handOverSignals(): void {
  handedOver = true;
}

/** Removes `path` (file or directory) if the process is interrupted; call the result once it is renamed or removed. */
export function removeOnInterrupt(path: string): () => void {
  const id = nextId++;
  pending.set(id, path);
  return () => { pending.delete(id); };
}

/** Paths currently registered (for tests). */
export function pendingCleanups(): string[] {
  return [...pending.values()];
}

/** Removes every registered path now. */
export function cleanupNow(): void {
  for (const path of [...pending.values()].reverse()) {
    try { rmSync(path, { recursive: true, force: true }); } catch { /* best effort while exiting */ }
  }
  pending.clear();
}

/**
 * Installs the SIGINT/SIGTERM handlers (once). `report` prints the one-line
 * notice; the process exits with 130 (SIGINT) or 143 (SIGTERM).
 */
export function installInterruptHandlers(report: (signal: string) => void = () => undefined): void {
  if (installed) return;
  installed = true;
  for (const [signal, number] of Object.entries(SIGNALS)) {
    process.on(signal, () => {
      cleanupNow();
      if (handedOver) return;
      try { report(signal); } catch { /* stderr may be closed */ }
      process.exit(128 + number);
    });
  }
}

/** Set to `write` to stop every interruptible write at its commit point, for tests that deliver a signal there. */
export const TEST_PAUSE_ENV = 'ONNX_STEER_TEST_PAUSE_AT';

/** Resolves after the event loop has passed its poll phase once (where signals are dispatched). */
function pastPoll(): Promise<void> {
  return new Promise((done) => { setImmediate(() => { setImmediate(done); }); });
}

/**
 * The point between writing outputs to their temp paths and renaming them
 * into place. Writes are synchronous, so a SIGINT/SIGTERM that arrives while
 * they run is only handled when the event loop next polls: awaiting this
 * before the renames lets that happen first, so the handler removes the temp
 * paths and exits instead of the output appearing after the user asked to
 * stop. With ONNX_STEER_TEST_PAUSE_AT=write the process announces the pause on
 * stderr (naming the temp paths in flight) and waits there, up to a minute,
 * for the signal a test sends.
 */
export async function beforeCommit(stage = 'write'): Promise<void> {
  if (process.env[TEST_PAUSE_ENV] === stage) {
    process.stderr.write(`onnx-steer: paused at ${stage} (${TEST_PAUSE_ENV}); in flight: ${pendingCleanups().join(', ')}\n`);
    await new Promise((done) => setTimeout(done, 60_000));
  }
  await pastPoll();
}
