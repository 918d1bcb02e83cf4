import { appendFileSync, readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal, canonicalJson } from '../../src/backends/journal.js';
import { journaled } from '../../src/backends/journaled.js';
import type { Backend, DrawRequest, DrawResult } from '../../src/backends/types.js';
import { tempDir } from '../helpers/paths.js';

const work = tempDir('onnx-steer-journal-');
afterAll(() => work.cleanup());

function fakeBackend(): Backend & { calls: number } {
  const b = {
    calls: 0,
    info: { kind: 'openai' as const, id: 'openai:http://x/v1#m', model: 'm', fingerprint: null, architecture: null },
    model: undefined,
    prepare: () => Promise.resolve(),
    draw(r: DrawRequest): Promise<DrawResult> {
      b.calls++;
      return Promise.resolve({ rows: Array.from({ length: r.n }, (_, k) => ({ index: k, seed: r.seed + k, text: `t${k}`, ids: [k], finishReason: 'length', logprobs: [-0.5 - k] })), timing: { totalMs: 1, generatedTokens: r.n, forwardPasses: 0 } });
    },
    score: () => Promise.resolve([]),
  };
  return b;
}

const req: DrawRequest = { prompt: 'p', n: 2, temperature: 1, topP: 1, maxNewTokens: 4, seed: 3 };

describe('the run journal', () => {
  it('hashes canonical JSON: key order does not matter', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe(canonicalJson({ a: [1, { c: 3, d: 2 }], b: 1 }));
  });

  it('is created by the first record, read back by a run with the same arguments, and never shared with other arguments', async () => {
    const dir = `${work.path}/a`;
    const j1 = Journal.open(dir, { run: 1 });
    const b1 = fakeBackend();
    const jb = journaled(b1, j1);
    expect(readdirSync(work.path)).toEqual([]);
    const first = await jb.draw(req);
    await jb.draw(req);
    expect(b1.calls).toBe(1);
    j1.close();
    const b2 = fakeBackend();
    const j2 = Journal.open(dir, { run: 1 });
    expect(j2.resumed).toBe(1);
    expect(await journaled(b2, j2).draw(req)).toEqual(first);
    expect(b2.calls).toBe(0);
    await journaled(b2, j2).draw({ ...req, seed: 4 });
    expect(b2.calls).toBe(1);
    j2.close();
    const other = Journal.open(dir, { run: 2 });
    expect(other.resumed).toBe(0);
    expect(other.path).not.toBe(j2.path);
  });

  it('drops a last line cut short by a crash, and appends after it', async () => {
    const dir = `${work.path}/b`;
    const j = Journal.open(dir, { run: 'torn' });
    await journaled(fakeBackend(), j).draw(req);
    j.close();
    appendFileSync(j.path, '{"k":"abc","op":"draw","v":{"rows":[');
    const again = Journal.open(dir, { run: 'torn' });
    expect(again.resumed).toBe(1);
    await journaled(fakeBackend(), again).draw({ ...req, seed: 9 });
    again.close();
    const lines = readFileSync(j.path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });
});
