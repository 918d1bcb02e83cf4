/**
 * Typed errors. Every error the library throws on bad input is a SteeringError
 * with a stable `code`; the CLI prints `message` on one line and exits with
 * `exitCode` (2 for usage errors, 1 for runtime errors).
 */
export type ErrorCode =
  | 'USAGE'
  | 'FILE_NOT_FOUND'
  | 'CORRUPT_FILE'
  | 'UNSUPPORTED_ARCHITECTURE'
  | 'UNSUPPORTED_DTYPE'
  | 'OUTPUT_EXISTS'
  | 'NO_RESIDUAL_STREAM'
  | 'HOOK_NOT_FOUND'
  | 'MODEL_MISMATCH'
  | 'SHAPE_MISMATCH'
  | 'INVALID_ARGUMENT'
  | 'INVALID_DATA'
  | 'DOWNLOAD_FAILED'
  | 'FILESYSTEM'
  | 'INTERRUPTED'
  | 'RUNTIME';

export interface SteeringErrorOptions {
  cause?: unknown;
}

export class SteeringError extends Error {
  readonly code: ErrorCode;
  /** 2 for usage errors, 1 for everything else. */
  readonly exitCode: 1 | 2;

  constructor(code: ErrorCode, message: string, options: SteeringErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = code === 'USAGE' ? 2 : 1;
  }
}

/** Bad command-line usage or an invalid option value given by the caller. */
export class UsageError extends SteeringError {
  constructor(message: string, options?: SteeringErrorOptions) {
    super('USAGE', message, options);
  }
}

/** A numeric or structural argument outside its valid range (API level). */
export class InvalidArgumentError extends SteeringError {
  constructor(message: string, options?: SteeringErrorOptions) {
    super('INVALID_ARGUMENT', message, options);
  }
}

export class FileNotFoundError extends SteeringError {
  readonly path: string;
  constructor(path: string, what = 'file', options?: SteeringErrorOptions) {
    super('FILE_NOT_FOUND', `${what} not found: ${path}`, options);
    this.path = path;
  }
}

/** A file exists but cannot be parsed: truncated, corrupt or malformed. */
export class CorruptFileError extends SteeringError {
  readonly path: string;
  constructor(path: string, detail: string, options?: SteeringErrorOptions) {
    super('CORRUPT_FILE', `${path}: ${detail}`, options);
    this.path = path;
  }
}

/** Malformed data inside a well-formed file (e.g. a bad JSONL line). */
export class InvalidDataError extends SteeringError {
  constructor(message: string, options?: SteeringErrorOptions) {
    super('INVALID_DATA', message, options);
  }
}

export class UnsupportedArchitectureError extends SteeringError {
  constructor(message: string, options?: SteeringErrorOptions) {
    super('UNSUPPORTED_ARCHITECTURE', message, options);
  }
}

export class UnsupportedDtypeError extends SteeringError {
  constructor(message: string, options?: SteeringErrorOptions) {
    super('UNSUPPORTED_DTYPE', message, options);
  }
}

export class OutputExistsError extends SteeringError {
  constructor(path: string) {
    super('OUTPUT_EXISTS', `output already exists: ${path} (pass --force to overwrite)`);
  }
}

/** No residual stream could be located in a graph. */
export class NoResidualStreamError extends SteeringError {
  constructor(message: string, options?: SteeringErrorOptions) {
    super('NO_RESIDUAL_STREAM', message, options);
  }
}

export class HookNotFoundError extends SteeringError {
  readonly site: string;
  readonly available: readonly string[];
  constructor(site: string, available: readonly string[]) {
    const shown = available.length > 12 ? [...available.slice(0, 12), `… (${available.length} in all)`] : available;
    super('HOOK_NOT_FOUND', `hook site "${site}" not found; available: ${shown.join(', ') || '(none)'}`);
    this.site = site;
    this.available = available;
  }
}

export class ModelMismatchError extends SteeringError {
  constructor(message: string, options?: SteeringErrorOptions) {
    super('MODEL_MISMATCH', message, options);
  }
}

export class ShapeMismatchError extends SteeringError {
  constructor(message: string, options?: SteeringErrorOptions) {
    super('SHAPE_MISMATCH', message, options);
  }
}

export class DownloadError extends SteeringError {
  constructor(message: string, options?: SteeringErrorOptions) {
    super('DOWNLOAD_FAILED', message, options);
  }
}

export class RuntimeFailureError extends SteeringError {
  constructor(message: string, options?: SteeringErrorOptions) {
    super('RUNTIME', message, options);
  }
}

/** A file-system call failed on a path (a directory where a file was expected, permissions, disk full, …). */
export class FileSystemError extends SteeringError {
  /** The errno code, e.g. EISDIR. */
  readonly errno: string;
  readonly path: string;
  constructor(message: string, errno: string, path: string, options?: SteeringErrorOptions) {
    super('FILESYSTEM', message, options);
    this.errno = errno;
    this.path = path;
  }
}

/** The process received SIGINT or SIGTERM; partial outputs were removed. */
export class InterruptedError extends SteeringError {
  readonly signal: string;
  constructor(signal: string) {
    super('INTERRUPTED', `interrupted by ${signal}; no partial output was left`);
    this.signal = signal;
  }
}
