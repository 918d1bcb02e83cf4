/**
 * Process-level behaviour of the executable:
 * - a closed stdout (`onnx-steer generate … | head -c 5`) ends the process
 *   quietly with status 0, as a reader that has seen enough is not an error;
 * - SIGINT and SIGTERM remove every temp output in flight and exit with
 *   130 / 143 after one line on stderr (see util/interrupt.ts).
 */
import { cleanupNow, installInterruptHandlers } from '../files/interrupt.js';

function isEpipe(err: unknown): boolean {
  return typeof err === 'object' && err !== null && ((err as { code?: unknown }).code === 'EPIPE' || (err as { code?: unknown }).code === 'ERR_STREAM_DESTROYED');
}

let guarded = false;

export function installProcessGuards(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (err) => {
    if (isEpipe(err)) { cleanupNow(); process.exit(0); }
    throw err;
  });
  // Nothing useful can be said once stderr is gone.
  process.stderr.on('error', () => undefined);
  installInterruptHandlers((signal) => { process.stderr.write(`onnx-steer: interrupted by ${signal}; no partial output was left\n`); });
}
