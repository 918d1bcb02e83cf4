/** Shared CLI plumbing: JSON output, option parsing, error reporting. */
import { SteeringError } from '../errors.js';
import { fsError, isErrnoError, listOption, numberOption } from '../validate/index.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A strict integer option (see validate/cli.ts for ranges). */
export function parseIntOption(name: string) {
  return numberOption(name, { integer: true });
}

/** A strict finite-number option. */
export function parseFloatOption(name: string) {
  return numberOption(name, {});
}

/** A strict comma-separated list option: no empty list, no empty entries. */
export function parseListOptionFor(name: string) {
  return listOption(name);
}

/** Prints a one-line message for an error and returns the exit code. */
export function reportError(err: unknown): number {
  const typed = err instanceof SteeringError ? err : isErrnoError(err) ? fsError(err, undefined, errnoAction(err)) : undefined;
  if (typed) {
    process.stderr.write(`onnx-steer: ${typed.message.split('\n')[0] ?? ''}\n`);
    if (process.env.ONNX_STEER_DEBUG && typed.stack) process.stderr.write(`${typed.stack}\n`);
    return typed.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`onnx-steer: unexpected error: ${message.split('\n')[0] ?? ''}\n`);
  if (process.env.ONNX_STEER_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}

function errnoAction(err: NodeJS.ErrnoException): string {
  const call = err.syscall ?? '';
  if (call === 'mkdir') return 'create';
  if (call === 'open' || call === 'read' || call === 'stat' || call === 'scandir') return 'access';
  if (call === 'rename' || call === 'write') return 'write';
  if (call === 'unlink' || call === 'rmdir') return 'remove';
  return 'access';
}

/** A strict list parser without a flag name (prefer parseListOptionFor). */
export function parseListOption(value: string): string[] {
  return listOption('list option')(value);
}
