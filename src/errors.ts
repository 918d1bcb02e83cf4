/**
 * Typed errors, all in this one module. Every error the library throws on bad
 * input is a SteeringError with a stable `code` and an optional `cause`; the
 * CLI prints `message` on one line and exits with `exitCode`: 2 when the
 * caller asked for something that does not exist or cannot be parsed (code
 * `USAGE`: bad flags, unknown reward/utility/selector specs, bad read
 * positions), 1 for everything else (bad values, bad files, runtime failures).
 *
 * Library code never throws UsageError: that class is the command line's own.
 * A spec string the library cannot parse is an InvalidSpecError (exit 2); a
 * value outside its valid range is an InvalidArgumentError (exit 1).
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
  | 'QUEUE_FULL'
  | 'UNAVAILABLE'
  | 'BACKEND_UNREACHABLE'
  | 'BACKEND_AUTH'
  | 'BACKEND_REFUSED'
  | 'BACKEND_UNSUPPORTED'
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

/** Bad command-line usage (a missing or malformed flag). Thrown by the CLI only. */
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

/**
 * A textual spec given to the library (a read position, a reward, a utility,
 * a selector) that names nothing known or is malformed. Exit code 2, like a
 * usage error, since the text came from the caller.
 */
export class InvalidSpecError extends SteeringError {
  readonly spec: string;
  constructor(spec: string, message: string, options?: SteeringErrorOptions) {
    super('USAGE', message, options);
    this.spec = spec;
  }
}

/** A reward spec that names no known reward, or is malformed; `known` lists the registered kinds when given. */
export class UnknownRewardError extends InvalidSpecError {
  constructor(spec: string, detail: string, known?: readonly string[]) {
    super(spec, known ? `${detail}; rewards: ${known.join(', ')}` : detail);
  }
}

/** A utility spec that names no known MBR utility, or is malformed; `known` lists the registered kinds when given. */
export class UnknownUtilityError extends InvalidSpecError {
  constructor(spec: string, detail: string, known?: readonly string[]) {
    super(spec, known ? `${detail}; utilities: ${known.join(', ')}` : detail);
  }
}

/** A selector name that names no known selector. */
export class UnknownSelectorError extends InvalidSpecError {
  constructor(spec: string, known: readonly string[]) {
    super(spec, `unknown selector "${spec}"; selectors: ${known.join(', ')}`);
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

/** A prompts file with no prompt in it. */
export class EmptyPromptsError extends SteeringError {
  readonly path: string;
  constructor(path: string, expected = 'one {"prompt": "..."} object per line') {
    super('INVALID_DATA', `${path}: no prompts (the file is empty); expected ${expected}`);
    this.path = path;
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

/** The serving queue is full: retry later (HTTP 429). */
export class QueueFullError extends SteeringError {
  constructor(message: string) {
    super('QUEUE_FULL', message);
  }
}

/** The scheduler no longer accepts work: it is shutting down (HTTP 503). */
export class SchedulerClosedError extends SteeringError {
  constructor() {
    super('UNAVAILABLE', 'the server is shutting down and accepts no new requests');
  }
}

/** A reward produced a value that cannot be used (NaN, ±Infinity, wrong count, non-0/1 verdict). */
export class RewardValueError extends SteeringError {
  readonly reward: string;
  /** The candidate's index in the batch (−1 when the whole batch is wrong). */
  readonly index: number;
  readonly value: unknown;
  constructor(reward: string, index: number, value: unknown, message: string) {
    super('INVALID_DATA', message);
    this.reward = reward;
    this.index = index;
    this.value = value;
  }
}

/** A user module (verifier or reward function) failed to load or threw. */
export class RewardModuleError extends SteeringError {
  readonly module: string;
  readonly exportName: string;
  /** The candidate being scored when it threw, if any. */
  readonly index?: number;
  constructor(module: string, exportName: string, message: string, options: SteeringErrorOptions & { index?: number } = {}) {
    super('RUNTIME', message, options);
    this.module = module;
    this.exportName = exportName;
    if (options.index !== undefined) this.index = options.index;
  }
}

/** Why a GGUF container could not be read or written. */
export type GgufErrorReason =
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'TRUNCATED'
  | 'BAD_VALUE_TYPE'
  | 'BAD_STRING'
  | 'BAD_ALIGNMENT'
  | 'DUPLICATE_KEY'
  | 'DUPLICATE_TENSOR'
  | 'BAD_TENSOR_INFO'
  | 'BAD_OFFSET'
  | 'TOO_LARGE'
  | 'WRITE_ORDER';

/** A malformed GGUF file (or a write that would make one); `reason` says which rule broke. */
export class GgufFormatError extends CorruptFileError {
  readonly reason: GgufErrorReason;
  constructor(path: string, reason: GgufErrorReason, detail: string, options?: SteeringErrorOptions) {
    super(path, detail, options);
    this.reason = reason;
  }
}

/** Why a GGUF file is not a control vector llama.cpp would load. */
export type ControlVectorErrorReason =
  | 'NO_DIRECTIONS'
  | 'BAD_TENSOR_NAME'
  | 'ZERO_LAYER'
  | 'DUPLICATE_LAYER'
  | 'BAD_DTYPE'
  | 'BAD_SHAPE'
  | 'LENGTH_MISMATCH'
  | 'BAD_METADATA'
  | 'NOT_FINITE';

/** A well-formed GGUF whose tensors break llama.cpp's control-vector rules. */
export class ControlVectorFormatError extends CorruptFileError {
  readonly reason: ControlVectorErrorReason;
  constructor(path: string, reason: ControlVectorErrorReason, detail: string) {
    super(path, detail);
    this.reason = reason;
  }
}

/** Why a steering vector cannot be exported as a llama.cpp control vector. */
export type ExportRefusalReason = 'BLOCK_ZERO' | 'SITE' | 'OPERATOR' | 'POSITIONS' | 'EMPTY';

/** A vector llama.cpp would not apply the way onnx-steer does; nothing is written. */
export class ExportRefusedError extends SteeringError {
  readonly reason: ExportRefusalReason;
  constructor(reason: ExportRefusalReason, message: string) {
    super('INVALID_ARGUMENT', message);
    this.reason = reason;
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

/**
 * Generation backends (OpenAI-compatible servers): unreachable (connection, DNS, timeout, after retries),
 * refusing the API key (401/403), refusing a request (a 4xx, or a 429/5xx that outlived the retries), or
 * unable to do what the run needs: score log-probs (KL-BoN, KL, perplexity), return activations (hidden
 * utility, probe rewards), serve the named model, steer with a vector it does not list, return token ids.
 */
export class BackendUnreachableError extends SteeringError {
  constructor(readonly url: string, detail: string, options?: SteeringErrorOptions) { super('BACKEND_UNREACHABLE', `cannot reach the backend at ${url}: ${detail}`, options); }
}
export class BackendAuthError extends SteeringError {
  constructor(url: string, readonly status: number, options?: SteeringErrorOptions) {
    super('BACKEND_AUTH', `the backend at ${url} refused the API key (HTTP ${status}); pass --api-key or set ONNX_STEER_API_KEY`, options);
  }
}
export class BackendRequestError extends SteeringError {
  constructor(message: string, readonly status: number | null, options?: SteeringErrorOptions) { super('BACKEND_REFUSED', message, options); }
}
export class BackendCapabilityError extends SteeringError {
  constructor(readonly capability: 'scoring' | 'activations' | 'model' | 'steering' | 'token-ids', message: string, options?: SteeringErrorOptions) { super('BACKEND_UNSUPPORTED', message, options); }
}
