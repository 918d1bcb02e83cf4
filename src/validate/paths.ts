/**
 * Paths: inputs that must be files or directories, outputs that must be
 * writable, and the translation of Node's errno errors (EISDIR, ENOTDIR,
 * EACCES, …) into one-line typed errors that name the path and the action.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FileNotFoundError, FileSystemError, OutputExistsError } from '../errors.js';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'it already exists',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  EBUSY: 'the resource is busy',
  EXDEV: 'it is on another device',
  ENOTEMPTY: 'the directory is not empty',
  EFBIG: 'the file is too large',
  EIO: 'input/output error',
};

export function isErrnoError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((err as NodeJS.ErrnoException).code ?? '');
}

/** A typed error for a failed file-system call: `cannot write out.json: it is a directory`. */
export function fsError(err: unknown, path: string | undefined, action: string): FileSystemError {
  if (err instanceof FileSystemError) return err;
  const errno = isErrnoError(err) ? err : undefined;
  const code = errno?.code ?? 'EIO';
  const where = path ?? errno?.path;
  const reason = REASONS[code] ?? (errno ? errno.message.replace(/^[A-Z0-9]+: /, '').split(',')[0] ?? code : String(err));
  return new FileSystemError(where ? `cannot ${action} ${where}: ${reason}` : `cannot ${action}: ${reason}`, code, where ?? '', { cause: err });
}

/** Runs a file-system call, turning errno errors into FileSystemErrors. */
export function withFs<T>(path: string, action: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isErrnoError(err)) throw fsError(err, path, action);
    throw err;
  }
}

/** An existing regular file. */
export function checkInputFile(path: string, what = 'file'): string {
  if (!existsSync(path)) throw new FileNotFoundError(path, what);
  const st = withFs(path, 'read', () => statSync(path));
  if (st.isDirectory()) throw new FileSystemError(`cannot read ${what} ${path}: it is a directory`, 'EISDIR', path);
  return path;
}

/** An existing directory. */
export function checkInputDir(path: string, what = 'directory'): string {
  if (!existsSync(path)) throw new FileNotFoundError(path, what);
  const st = withFs(path, 'read', () => statSync(path));
  if (!st.isDirectory()) throw new FileSystemError(`${what} ${path} is not a directory`, 'ENOTDIR', path);
  return path;
}

/** The nearest existing ancestor of `path` (itself included). */
function nearestExisting(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/**
 * An output file we may write: not a directory, not under a file, not an
 * existing file unless `force`. Checked before any work starts, so a long
 * run cannot fail at its last step on a path mistake.
 */
export function checkOutputFile(path: string, options: { force?: boolean; what?: string } = {}): string {
  const what = options.what ?? 'output';
  if (existsSync(path)) {
    const st = withFs(path, 'write', () => statSync(path));
    if (st.isDirectory()) throw new FileSystemError(`cannot write ${what} ${path}: it is a directory`, 'EISDIR', path);
    if (!options.force) throw new OutputExistsError(path);
    return path;
  }
  const base = nearestExisting(dirname(path));
  if (!statSync(base).isDirectory()) throw new FileSystemError(`cannot write ${what} ${path}: ${base} is not a directory`, 'ENOTDIR', path);
  return path;
}

/**
 * An output directory: absent (it will be made), or an existing directory.
 * `marker` names a file whose presence means earlier output that only
 * `force` may replace.
 */
export function checkOutputDir(path: string, options: { force?: boolean; marker?: string; what?: string } = {}): string {
  const what = options.what ?? 'output directory';
  if (existsSync(path)) {
    const st = withFs(path, 'write', () => statSync(path));
    if (!st.isDirectory()) throw new FileSystemError(`cannot write ${what} ${path}: it is a file, not a directory`, 'ENOTDIR', path);
    if (options.marker && existsSync(resolve(path, options.marker)) && !options.force) throw new OutputExistsError(resolve(path, options.marker));
    return path;
  }
  const base = nearestExisting(dirname(path));
  if (!statSync(base).isDirectory()) throw new FileSystemError(`cannot create ${what} ${path}: ${base} is not a directory`, 'ENOTDIR', path);
  return path;
}

/** Reads an input file (checked to be a regular file) as bytes. */
export function readInputFile(path: string, what = 'file'): Buffer {
  checkInputFile(path, what);
  return withFs(path, `read ${what}`, () => readFileSync(path));
}
