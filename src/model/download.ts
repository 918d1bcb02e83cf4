/**
 * Downloading model files over HTTP(S) into a directory: each file streams to
 * a temp file and is renamed into place when complete, so an interrupted
 * download never leaves a partial file behind.
 */
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { DownloadError } from '../errors.js';
import { tempPathFor } from '../files/fs.js';
import { removeOnInterrupt } from '../files/interrupt.js';
import { withFs } from '../validate/paths.js';

export type ProgressFn = (file: string, received: number, total: number | undefined) => void;

export async function downloadFiles(baseUrl: string, files: readonly string[], targetDir: string, onProgress?: ProgressFn): Promise<void> {
  withFs(targetDir, 'create', () => mkdirSync(targetDir, { recursive: true }));
  for (const file of files) await downloadFile(`${baseUrl}/${file}`, join(targetDir, file), file, onProgress);
}

async function downloadFile(url: string, target: string, label: string, onProgress?: ProgressFn): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new DownloadError(`cannot download ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: err });
  }
  if (!response.ok || !response.body) throw new DownloadError(`cannot download ${url}: HTTP ${response.status}`);
  const totalHeader = response.headers.get('content-length');
  const total = totalHeader ? Number(totalHeader) : undefined;
  const tmp = tempPathFor(target);
  const release = removeOnInterrupt(tmp);
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      received += chunk.length;
      onProgress?.(label, received, total);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body), counter, createWriteStream(tmp));
    if (total !== undefined && received !== total) throw new DownloadError(`download of ${url} ended early: ${received} of ${total} bytes`);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof DownloadError) throw err;
    throw new DownloadError(`download of ${url} failed: ${(err as Error).message}`, { cause: err });
  } finally {
    release();
  }
}
