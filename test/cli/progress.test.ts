/** The progress reporter: plain, rate-limited lines off a terminal, bars on one, nothing when quiet. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_INTERVAL_MS, progressFor, setQuiet, type ProgressStream } from '../../src/cli/progress.js';
import { downloadFiles } from '../../src/model/download.js';
import { tempDir, TINYSTORIES } from '../helpers/paths.js';

function sink(isTTY = false): { stream: ProgressStream; text: () => string; lines: () => string[] } {
  let text = '';
  const stream: ProgressStream = Object.assign(new Writable({ write(chunk: Buffer | string, _enc, cb) { text += String(chunk); cb(); } }), { isTTY });
  return { stream, text: () => text, lines: () => text.split('\n').filter(Boolean) };
}

/** A clock the test moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

afterEach(() => setQuiet(false));

describe('progress off a terminal', () => {
  it('prints the first and last update of a stage and at most one line per interval between', () => {
    const out = sink();
    const c = clock();
    const p = progressFor('ab', { stream: out.stream, now: c.now, intervalMs: 3000 });
    for (let done = 1; done <= 36; done++) {
      p.count('generating', done, 36, 'prompts');
      c.advance(500); // one update every 0.5 s: 18 s in all
    }
    const lines = out.lines();
    expect(lines[0]).toBe('ab: generating 1/36 prompts (2%)');
    expect(lines.at(-1)).toBe('ab: generating 36/36 prompts (100%)');
    // 18 s at one line per 3 s, plus the first and the last
    expect(lines).toEqual([
      'ab: generating 1/36 prompts (2%)', 'ab: generating 7/36 prompts (19%)', 'ab: generating 13/36 prompts (36%)', 'ab: generating 19/36 prompts (52%)',
      'ab: generating 25/36 prompts (69%)', 'ab: generating 31/36 prompts (86%)', 'ab: generating 36/36 prompts (100%)',
    ]);
  });

  it('holds updates back within the interval, then prints the next one after it', () => {
    const out = sink();
    const c = clock();
    const p = progressFor('build', { stream: out.stream, now: c.now });
    p.count('writing', 1, 100, 'tensors');
    c.advance(DEFAULT_INTERVAL_MS - 1);
    p.count('writing', 2, 100, 'tensors');
    expect(out.lines()).toEqual(['build: writing 1/100 tensors (1%)']);
    c.advance(1);
    p.count('writing', 3, 100, 'tensors');
    expect(out.lines()).toEqual(['build: writing 1/100 tensors (1%)', 'build: writing 3/100 tensors (3%)']);
  });

  it('prints every stage change at once, and each stage message', () => {
    const out = sink();
    const c = clock();
    const p = progressFor('study', { stream: out.stream, now: c.now });
    p.count('calibrating β on', 1, 2, 'dev prompts');
    p.count('calibrating β on', 2, 2, 'dev prompts');
    p.count('sampling', 1, 3, 'prompts');
    p.message('writing the report');
    p.count('sampling', 2, 3, 'prompts');
    expect(out.lines()).toEqual([
      'study: calibrating β on 1/2 dev prompts (50%)', 'study: calibrating β on 2/2 dev prompts (100%)',
      'study: sampling 1/3 prompts (33%)', 'study: writing the report', 'study: sampling 2/3 prompts (66%)',
    ]);
  });

  it('prints a final update once, even when it repeats', () => {
    const out = sink();
    const p = progressFor('prefs', { stream: out.stream, now: () => 0 });
    p.count('scoring', 1, 1, 'pairs');
    p.count('scoring', 1, 1, 'pairs');
    expect(out.lines()).toEqual(['prefs: scoring 1/1 pairs (100%)']);
  });

  it('reports downloads in MiB, with or without a known size', () => {
    const out = sink();
    const c = clock();
    const p = progressFor('generate', { stream: out.stream, now: c.now });
    p.bytes('model.safetensors', 2 ** 20, 4 * 2 ** 20);
    c.advance(10_000);
    p.bytes('model.safetensors', 4 * 2 ** 20, 4 * 2 ** 20);
    p.bytes('tokenizer.json', 3 * 2 ** 19, undefined);
    expect(out.lines()).toEqual(['generate: downloading model.safetensors 1.0/4.0 MiB (25%)', 'generate: downloading model.safetensors 4.0/4.0 MiB (100%)', 'generate: downloading tokenizer.json 1.5 MiB']);
  });

  it('writes neither ANSI escapes nor carriage returns, whatever a message holds', () => {
    const out = sink();
    const p = progressFor('sweep', { stream: out.stream });
    p.message('site blocks.0\r\x1b[31mred\x1b[0m\nnext');
    p.count('scoring', 5, 10, 'pairs');
    expect(out.text()).toBe('sweep: site blocks.0 red next\nsweep: scoring 5/10 pairs (50%)\n');
    // eslint-disable-next-line no-control-regex
    expect(out.text()).not.toMatch(/[\r\x1b]/);
  });
});

describe('a real download through the reporter', () => {
  it('prints the first and the last size of each file, in MiB, whatever the chunking', async () => {
    const files = ['config.json', 'model.safetensors'];
    const server = createServer((req, res) => {
      const name = (req.url ?? '').slice(1);
      const data = readFileSync(join(TINYSTORIES, name));
      res.writeHead(200, { 'content-length': String(data.length) });
      // many small chunks, as a network delivers them
      for (let i = 0; i < data.length; i += 16_384) res.write(data.subarray(i, i + 16_384));
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const tmp = tempDir();
    const out = sink();
    try {
      const p = progressFor('generate', { stream: out.stream, now: () => 0 });
      await downloadFiles(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, files, tmp.path, (f, received, total) => p.bytes(f, received, total));
      const mb = (f: string) => (statSync(join(TINYSTORIES, f)).size / 2 ** 20).toFixed(1);
      expect(out.lines()[0]).toMatch(/^generate: downloading config\.json 0\.0\/0\.0 MiB \(100%\)$/);
      expect(out.lines().filter((l) => l.includes('model.safetensors'))).toEqual([
        expect.stringMatching(/^generate: downloading model\.safetensors \d+\.\d\/\d+\.\d MiB \([1-9]?\d%\)$/), // the first chunk, below 100%
        `generate: downloading model.safetensors ${mb('model.safetensors')}/${mb('model.safetensors')} MiB (100%)`,
      ]);
    } finally {
      tmp.cleanup();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('progress on a terminal', () => {
  it('draws a bar for counted stages and prints messages as lines', () => {
    const out = sink(true);
    const p = progressFor('ab', { stream: out.stream });
    p.count('generating', 1, 4, 'prompts');
    p.count('generating', 4, 4, 'prompts');
    p.message('done');
    p.stop();
    expect(out.text()).toMatch(/ab: generating \[[█░]+\] 4\/4 prompts/);
    expect(out.text()).toContain('ab: done\n');
  });
});

describe('--quiet', () => {
  it('silences every kind of report, by option or by the global setting', () => {
    const out = sink();
    const quiet = progressFor('ab', { stream: out.stream, quiet: true });
    quiet.message('x'); quiet.count('generating', 1, 2); quiet.bytes('f', 1, 2); quiet.stop();
    setQuiet(true);
    const global = progressFor('ab', { stream: out.stream });
    global.message('x'); global.count('generating', 2, 2);
    expect(out.text()).toBe('');
    setQuiet(false);
    progressFor('ab', { stream: out.stream }).message('back');
    expect(out.text()).toBe('ab: back\n');
  });
});
