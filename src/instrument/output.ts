/**
 * All-or-nothing output directories: everything is written into a temp
 * directory beside the target, which is renamed into place only when
 * complete. An existing target is refused unless `force`, and is replaced
 * only after the new one is fully written.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { FileSystemError } from '../errors.js';
import { basename, dirname, join, resolve } from 'node:path';
import { guardOutput } from '../files/fs.js';
import { beforeCommit, removeOnInterrupt } from '../files/interrupt.js';
import { withFs } from '../validate/paths.js';

export async function writeDirectoryAtomically(target: string, force: boolean, write: (tmpDir: string) => Promise<void>): Promise<void> {
  const out = resolve(target);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new FileSystemError(`cannot write output directory ${out}: it is a file, not a directory`, 'ENOTDIR', out);
  guardOutput(out, force);
  const parent = dirname(out);
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(out)}.${tag}.tmp`);
  withFs(out, 'create', () => { mkdirSync(parent, { recursive: true }); mkdirSync(tmp); });
  const release = removeOnInterrupt(tmp);
  try {
    await write(tmp);
    await beforeCommit();
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    release();
    throw err;
  }
  release();
  // From here on, synchronous renames: a signal is handled once the output is whole.
  if (existsSync(out)) {
    const old = join(parent, `.${basename(out)}.${tag}.old`);
    renameSync(out, old);
    try {
      renameSync(tmp, out);
    } catch (err) {
      renameSync(old, out);
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, out);
  }
}
