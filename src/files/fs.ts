/** File helpers: atomic writes (temp file, then rename), output guards, hashing. */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CorruptFileError, FileNotFoundError, OutputExistsError } from '../errors.js';
import { fsError, isErrnoError } from '../validate/paths.js';
import { removeOnInterrupt } from './interrupt.js';

/** A temp path in the same directory as `target`, so rename() stays atomic. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Creates `target`'s folder, with file-system errors typed. */
function ensureParent(target: string): void {
  try {
    mkdirSync(dirname(target), { recursive: true });
  } catch (err) {
    throw fsError(err, target, 'write');
  }
}

/** Writes `data` to `path` in full and syncs it to disk. */
function writeSynced(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `target` atomically. */
export function atomicWriteFile(target: string, data: string | Uint8Array): void {
  ensureParent(target);
  const tmp = tempPathFor(target);
  const release = removeOnInterrupt(tmp);
  try {
    writeSynced(tmp, data);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw isErrnoError(err) ? fsError(err, target, 'write') : err;
  } finally {
    release();
  }
}

/**
 * Writes several files as one unit: every file goes to a temp path first,
 * then all are renamed into place in one synchronous run, so neither an
 * error nor a signal leaves some of them new and some missing.
 */
export function atomicWriteFiles(files: readonly (readonly [string, string | Uint8Array])[]): void {
  const staged: { tmp: string; target: string; release: () => void }[] = [];
  try {
    for (const [target, data] of files) {
      ensureParent(target);
      const tmp = tempPathFor(target);
      staged.push({ tmp, target, release: removeOnInterrupt(tmp) });
      try {
        writeSynced(tmp, data);
      } catch (err) {
        throw fsError(err, target, 'write');
      }
    }
    for (const { tmp, target } of staged) {
      try {
        renameSync(tmp, target);
      } catch (err) {
        throw fsError(err, target, 'write');
      }
    }
  } finally {
    for (const { tmp, release } of staged) {
      rmSync(tmp, { force: true });
      release();
    }
  }
}

export function writeAll(fd: number, data: Uint8Array, position?: number): void {
  let off = 0;
  while (off < data.byteLength) {
    const n = writeSync(fd, data, off, data.byteLength - off, position === undefined ? null : position + off);
    off += n;
  }
}

/**
 * A file being written through a temp path. `commit()` renames it into place;
 * `abort()` removes it. Used for large streamed outputs such as external data.
 */
export class AtomicFile {
  readonly target: string;
  readonly tmp: string;
  readonly fd: number;
  private done = false;
  private readonly release: () => void;
  position = 0;

  constructor(target: string) {
    this.target = target;
    this.tmp = tempPathFor(target);
    try {
      mkdirSync(dirname(target), { recursive: true });
      this.fd = openSync(this.tmp, 'w');
    } catch (err) {
      throw fsError(err, target, 'write');
    }
    this.release = removeOnInterrupt(this.tmp);
  }

  write(data: Uint8Array): number {
    const at = this.position;
    writeAll(this.fd, data);
    this.position += data.byteLength;
    return at;
  }

  /** Pads with zero bytes up to a multiple of `alignment`. */
  align(alignment: number): void {
    const pad = (alignment - (this.position % alignment)) % alignment;
    if (pad > 0) this.write(new Uint8Array(pad));
  }

  commit(): void {
    if (this.done) return;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      renameSync(this.tmp, this.target);
    } catch (err) {
      this.abort();
      throw fsError(err, this.target, 'write');
    }
    this.done = true;
    this.release();
  }

  abort(): void {
    if (this.done) return;
    try { closeSync(this.fd); } catch { /* already closed */ }
    rmSync(this.tmp, { force: true });
    this.done = true;
    this.release();
  }
}

/**
 * Refuses to overwrite an existing output unless `force`; with `force`, the
 * old output is left in place until the new one is complete (callers write to
 * temp paths and rename).
 */
export function guardOutput(path: string, force: boolean): void {
  if (existsSync(path) && !force) throw new OutputExistsError(path);
}

export function mustExist(path: string, what = 'file'): void {
  if (!existsSync(path)) throw new FileNotFoundError(path, what);
}

export function readJsonFile<T = unknown>(path: string, what = 'file'): T {
  mustExist(path, what);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fsError(err, path, 'read');
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CorruptFileError(path, `invalid JSON (${(err as Error).message})`, { cause: err });
  }
}

/** sha256 of several files, streamed in fixed-size chunks (no whole-file buffers). */
export function sha256Files(paths: readonly string[]): string {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(1 << 22);
  for (const p of paths) {
    mustExist(p);
    const fd = openSync(p, 'r');
    try {
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.byteLength, null);
        if (n <= 0) break;
        hash.update(chunk.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
  }
  return hash.digest('hex');
}

export function sha256Bytes(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function fileSize(path: string): number {
  return statSync(path).size;
}
