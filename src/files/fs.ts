/** File helpers: atomic writes (temp file, then rename), output guards, hashing. */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CorruptFileError, FileNotFoundError, OutputExistsError } from '../errors.js';
import { fsError } from '../validate/paths.js';
import { beforeCommit, removeOnInterrupt } from './interrupt.js';

/** A temp path in the same directory as `target`, so rename() stays atomic. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Creates `target`'s folder, with file-system errors typed; returns the topmost folder it made, if any. */
function ensureParent(target: string): string | undefined {
  try {
    return mkdirSync(dirname(target), { recursive: true });
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

/**
 * Files written to temp paths beside their targets and not yet in place.
 * `commit()` renames them all in one synchronous run, so neither an error nor
 * a signal leaves some of them new and some missing; `abort()` removes the
 * temp files and any folder made for them. Until then a SIGINT/SIGTERM removes
 * them too (see interrupt.ts).
 */
export class StagedFiles {
  private readonly staged: { tmp: string; target: string }[] = [];
  private readonly cleanups: (() => void)[] = [];
  private readonly made: string[] = [];
  private done = false;

  constructor(files: readonly (readonly [string, string | Uint8Array])[]) {
    try {
      for (const [target, data] of files) {
        const made = ensureParent(target);
        if (made) { this.made.push(made); this.cleanups.push(removeOnInterrupt(made)); }
        const tmp = tempPathFor(target);
        this.staged.push({ tmp, target });
        this.cleanups.push(removeOnInterrupt(tmp));
        try {
          writeSynced(tmp, data);
        } catch (err) {
          throw fsError(err, target, 'write');
        }
      }
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  /** The temp paths (for tests and messages). */
  get tempPaths(): string[] { return this.staged.map((s) => s.tmp); }

  commit(): void {
    if (this.done) return;
    try {
      for (const { tmp, target } of this.staged) {
        try {
          renameSync(tmp, target);
        } catch (err) {
          throw fsError(err, target, 'write');
        }
      }
    } catch (err) {
      this.abort();
      throw err;
    }
    this.finish();
  }

  abort(): void {
    if (this.done) return;
    for (const { tmp } of this.staged) rmSync(tmp, { force: true });
    for (const dir of this.made.reverse()) rmSync(dir, { recursive: true, force: true });
    this.finish();
  }

  private finish(): void {
    this.done = true;
    for (const release of this.cleanups) release();
  }
}

/** Writes `data` to `target` atomically. */
export function atomicWriteFile(target: string, data: string | Uint8Array): void {
  new StagedFiles([[target, data]]).commit();
}

/** Writes several files as one unit (see StagedFiles). */
export function atomicWriteFiles(files: readonly (readonly [string, string | Uint8Array])[]): void {
  new StagedFiles(files).commit();
}

/**
 * `atomicWriteFiles` for commands: after the temp files are written the
 * event loop gets a turn (beforeCommit), so a signal received during the
 * writes removes them and ends the process before anything is renamed.
 */
export async function writeFilesInterruptibly(files: readonly (readonly [string, string | Uint8Array])[]): Promise<void> {
  await commitInterruptibly(new StagedFiles(files));
}

/** Commits staged output after a pending SIGINT/SIGTERM had its turn (beforeCommit); aborts it if that throws. */
export async function commitInterruptibly(staged: { abort(): void; commit(): void }): Promise<void> {
  try {
    await beforeCommit();
  } catch (err) {
    staged.abort();
    throw err;
  }
  staged.commit();
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
