/** Shared CLI plumbing: JSON output, number parsing, error reporting. */
import { SteeringError, UsageError } from '../errors.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function parseIntOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new UsageError(`${name} must be an integer, got "${value}"`);
    return n;
  };
}

export function parseFloatOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

export function parseListOption(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Prints a one-line message for an error and returns the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof SteeringError) {
    process.stderr.write(`onnx-steer: ${err.message.split('\n')[0] ?? ''}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`onnx-steer: unexpected error: ${message.split('\n')[0] ?? ''}\n`);
  if (process.env.ONNX_STEER_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}
