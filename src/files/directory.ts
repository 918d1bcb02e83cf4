/**
 * All-or-nothing output directories: everything is written into a temp
 * directory beside the target, which is renamed into place only when
 * complete. An existing target is refused unless `force` (or, with
 * `replaceEmpty`, unless it is an empty directory), and is replaced only
 * after the new one is fully written; a failed or interrupted write leaves
 * nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FileSystemError, OutputExistsError } from '../errors.js';
import { withFs } from '../validate/paths.js';
import { beforeCommit, removeOnInterrupt } from './interrupt.js';

export interface DirectoryOutputOptions {
  /** Replace an existing target. */
  force: boolean;
  /** An existing empty directory is replaced without `force`. */
  replaceEmpty?: boolean;
}

/** A temp directory beside the target: `commit()` renames it into place, `abort()` removes it. */
export interface StagedDirectory {
  readonly tmp: string;
  commit(): void;
  abort(): void;
}

/** Checks the target (see DirectoryOutputOptions) and creates the temp directory, removed if the process is interrupted. */
export function stageDirectory(target: string, options: DirectoryOutputOptions): StagedDirectory {
  const out = resolve(target);
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new FileSystemError(`cannot write output directory ${out}: it is a file, not a directory`, 'ENOTDIR', out);
    const empty = options.replaceEmpty === true && readdirSync(out).length === 0;
    if (!options.force && !empty) throw new OutputExistsError(out);
  }
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  withFs(out, 'create', () => { mkdirSync(dirname(out), { recursive: true }); mkdirSync(tmp); });
  const release = removeOnInterrupt(tmp);
  const abort = (): void => {
    rmSync(tmp, { recursive: true, force: true });
    release();
  };
  // Synchronous renames: a signal is handled before the output appears or once it is whole.
  const commit = (): void => {
    try {
      withFs(out, 'write', () => {
        if (!existsSync(out)) { renameSync(tmp, out); return; }
        const old = `${tmp}.old`;
        renameSync(out, old);
        try {
          renameSync(tmp, out);
        } catch (err) {
          renameSync(old, out);
          throw err;
        }
        rmSync(old, { recursive: true, force: true });
      });
    } catch (err) {
      abort();
      throw err;
    }
    release();
  };
  return { tmp, commit, abort };
}

/** Runs `write` on a fresh temp directory and moves it to `target` when it returns. */
export function writeDirectoryAtomicallySync<T>(target: string, options: DirectoryOutputOptions, write: (tmpDir: string) => T): T {
  const s = stageDirectory(target, options);
  let result: T;
  try {
    result = write(s.tmp);
  } catch (err) {
    s.abort();
    throw err;
  }
  s.commit();
  return result;
}

/**
 * Awaits `write` on a fresh temp directory and moves it to `target` when it
 * resolves, after giving a pending SIGINT/SIGTERM its turn (beforeCommit):
 * an interrupted write leaves no output.
 */
export async function writeDirectoryAtomically<T>(target: string, options: DirectoryOutputOptions, write: (tmpDir: string) => Promise<T> | T): Promise<T> {
  const s = stageDirectory(target, options);
  let result: T;
  try {
    result = await write(s.tmp);
    await beforeCommit();
  } catch (err) {
    s.abort();
    throw err;
  }
  s.commit();
  return result;
}
