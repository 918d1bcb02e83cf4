/**
 * All-or-nothing output directories: everything is written into a temp
 * directory beside the target, which is renamed into place only when
 * complete. An existing target is refused unless `force` (or, with
 * `replaceEmpty`, unless it is an empty directory), and is replaced only
 * after the new one is fully written; a failed write leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FileSystemError, OutputExistsError } from '../errors.js';
import { withFs } from '../validate/paths.js';
import { removeOnInterrupt } from './interrupt.js';

export interface DirectoryOutputOptions {
  /** Replace an existing target. */
  force: boolean;
  /** An existing empty directory is replaced without `force`. */
  replaceEmpty?: boolean;
}

interface Staging { out: string; tmp: string; release: () => void }

function stage(target: string, options: DirectoryOutputOptions): Staging {
  const out = resolve(target);
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new FileSystemError(`cannot write output directory ${out}: it is a file, not a directory`, 'ENOTDIR', out);
    const empty = options.replaceEmpty === true && readdirSync(out).length === 0;
    if (!options.force && !empty) throw new OutputExistsError(out);
  }
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  withFs(out, 'create', () => { mkdirSync(dirname(out), { recursive: true }); mkdirSync(tmp); });
  return { out, tmp, release: removeOnInterrupt(tmp) };
}

function abandon(s: Staging): void {
  rmSync(s.tmp, { recursive: true, force: true });
  s.release();
}

/** Renames the finished temp directory to the target, replacing what was there. */
function commit(s: Staging): void {
  try {
    withFs(s.out, 'write', () => {
      if (!existsSync(s.out)) { renameSync(s.tmp, s.out); return; }
      const old = `${s.tmp}.old`;
      renameSync(s.out, old);
      try {
        renameSync(s.tmp, s.out);
      } catch (err) {
        renameSync(old, s.out);
        throw err;
      }
      rmSync(old, { recursive: true, force: true });
    });
  } catch (err) {
    abandon(s);
    throw err;
  }
  s.release();
}

/** Runs `write` on a fresh temp directory and moves it to `target` when it returns. */
export function writeDirectoryAtomicallySync<T>(target: string, options: DirectoryOutputOptions, write: (tmpDir: string) => T): T {
  const s = stage(target, options);
  let result: T;
  try {
    result = write(s.tmp);
  } catch (err) {
    abandon(s);
    throw err;
  }
  commit(s);
  return result;
}

/** Awaits `write` on a fresh temp directory and moves it to `target` when it resolves. */
export async function writeDirectoryAtomically<T>(target: string, options: DirectoryOutputOptions, write: (tmpDir: string) => Promise<T>): Promise<T> {
  const s = stage(target, options);
  let result: T;
  try {
    result = await write(s.tmp);
  } catch (err) {
    abandon(s);
    throw err;
  }
  commit(s);
  return result;
}
