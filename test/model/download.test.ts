/** The Hub download path, against a local HTTP server on 127.0.0.1. */
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FILES, DEFAULT_REPO, resolveDefaultCheckpoint } from '../../src/model/default-model.js';
import { downloadFiles } from '../../src/model/download.js';
import { DownloadError } from '../../src/errors.js';
import { TINYSTORIES, tempDir } from '../helpers/paths.js';

let server: Server;
let base: string;
const requests: string[] = [];
const tmp = tempDir();

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(url);
    if (url.startsWith('/truncated/')) {
      res.writeHead(200, { 'content-length': '1000' });
      res.end('only a few bytes');
      return;
    }
    const m = new RegExp(`^/${DEFAULT_REPO}/resolve/main/(.+)$`).exec(url);
    const file = m?.[1];
    if (!file || !DEFAULT_FILES.includes(file)) { res.writeHead(404); res.end('not found'); return; }
    const data = readFileSync(join(TINYSTORIES, file));
    res.writeHead(200, { 'content-length': String(data.length) });
    res.end(data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => { await new Promise((r) => server.close(r)); tmp.cleanup(); });

describe('default checkpoint download', () => {
  it('downloads the checkpoint when no local copy exists, with progress, then reuses it', async () => {
    const saved = { cache: process.env.ONNX_STEER_CACHE, ckpt: process.env.ONNX_STEER_CHECKPOINT };
    process.env.ONNX_STEER_CACHE = join(tmp.path, 'cache');
    delete process.env.ONNX_STEER_CHECKPOINT;
    try {
      const progress: string[] = [];
      const dir = await resolveDefaultCheckpoint({ hubUrl: base, sharedDir: join(tmp.path, 'no-shared'), onProgress: (f) => progress.push(f) });
      for (const f of DEFAULT_FILES) expect(readFileSync(join(dir, f)).equals(readFileSync(join(TINYSTORIES, f)))).toBe(true);
      expect(new Set(progress)).toEqual(new Set(DEFAULT_FILES));
      const count = requests.length;
      expect(await resolveDefaultCheckpoint({ hubUrl: base, sharedDir: join(tmp.path, 'no-shared') })).toBe(dir);
      expect(requests.length).toBe(count);
    } finally {
      if (saved.cache === undefined) delete process.env.ONNX_STEER_CACHE; else process.env.ONNX_STEER_CACHE = saved.cache;
      if (saved.ckpt !== undefined) process.env.ONNX_STEER_CHECKPOINT = saved.ckpt;
    }
  });

  it('fails with a typed error and leaves no partial file', async () => {
    const target = join(tmp.path, 'fail');
    await expect(downloadFiles(`${base}/missing`, ['config.json'], target)).rejects.toThrow(DownloadError);
    await expect(downloadFiles(`${base}/truncated`, ['model.safetensors'], target)).rejects.toThrow(/ended early|failed/);
    expect(existsSync(join(target, 'model.safetensors'))).toBe(false);
    expect(readdirSync(target)).toEqual([]);
    await expect(downloadFiles('http://127.0.0.1:9/x', ['a'], target)).rejects.toThrow(DownloadError);
  });

  it('prefers ONNX_STEER_CHECKPOINT over everything', async () => {
    process.env.ONNX_STEER_CHECKPOINT = TINYSTORIES;
    try {
      expect(await resolveDefaultCheckpoint({ hubUrl: 'http://127.0.0.1:9' })).toBe(TINYSTORIES);
      process.env.ONNX_STEER_CHECKPOINT = join(tmp.path, 'nowhere');
      await expect(resolveDefaultCheckpoint()).rejects.toThrow(/ONNX_STEER_CHECKPOINT/);
    } finally {
      delete process.env.ONNX_STEER_CHECKPOINT;
    }
  });
});
