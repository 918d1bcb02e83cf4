/**
 * Resumable runs: `onnx-steer ab --backend openai:<url>` against a server
 * that dies after k requests fails with one line (exit 1) and keeps every
 * result that arrived in its journal; a rerun with the same arguments, once
 * the server is back, sends only the missing requests and reports exactly
 * what an uninterrupted run reports: no candidate lost or duplicated.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAB } from '../../src/ab/harness.js';
import { runMain } from '../helpers/cli.js';
import { parseReward } from '../../src/rewards/parse.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { createServer, type SteeringServer } from '../../src/server/app.js';
import { parseUtility } from '../../src/utilities/parse.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { loadDefault } from '../helpers/models.js';
import { tempDir } from '../helpers/paths.js';
import { withoutProgress } from '../helpers/progress.js';
import { MODEL, VECTORS } from '../server/helpers.js';

const work = tempDir('onnx-steer-resume-');
let model: HookedModel;
let server: SteeringServer | undefined;
let draws = 0;
let requests = 0;
let killAfter = Infinity;
/** The dying server's shutdown (it finishes its current step before it stops listening). */
let died: Promise<void> | undefined;

async function start(port: number): Promise<string> {
  const s = createServer(model, { modelName: MODEL, vectors: VECTORS, maxBatch: 16 });
  s.app.addHook('onRequest', (req, reply, done) => {
    if (req.method === 'POST' && req.url === '/v1/completions' && ++requests > killAfter) {
      // The server dies: this connection drops and nothing listens any more.
      reply.hijack();
      req.raw.socket.destroy();
      died = s.shutdown(0);
      return;
    }
    done();
  });
  s.app.addHook('preHandler', (req, _reply, done) => {
    const body = req.body as { max_tokens?: number } | undefined;
    if (req.url === '/v1/completions' && (body?.max_tokens ?? 0) > 0) draws++;
    done();
  });
  server = s;
  return s.app.listen({ host: '127.0.0.1', port });
}

/**
 * The server restarts on its port after it dies, so the port must not be
 * handed to anyone else meanwhile: it is picked below Linux's ephemeral range
 * (32768–60999), which other tests' `listen(0)` and outgoing connections draw
 * from.
 */
async function startOnFreePort(): Promise<string> {
  for (let i = 0; i < 20; i++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    try {
      return await start(port);
    } catch (err) {
      await server?.shutdown(0);
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error('no free port between 20000 and 29999');
}

const runCli = runMain;

const PROMPTS = ['Finn had a green toy truck. ', 'The sun was hot and Lily', 'Tom saw a big red ball'];
const JOY = join(VECTORS, 'joy.json');

beforeAll(async () => {
  model = await loadDefault();
  writeFileSync(join(work.path, 'prompts.jsonl'), PROMPTS.map((p) => JSON.stringify({ prompt: p })).join('\n'));
}, 120_000);
afterAll(async () => {
  await server?.shutdown(0);
  await model?.dispose();
  work.cleanup();
});

function journalRecords(dir: string): { k: string; op: string }[] {
  const files = readdirSync(dir).filter((f) => f.startsWith('journal-'));
  expect(files).toHaveLength(1);
  return readFileSync(join(dir, files[0] as string), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as { k: string; op: string });
}

describe('a run whose server dies', () => {
  it('fails with one line, keeps its journal, and resumes to the uninterrupted result', async () => {
    const url = await startOnFreePort();
    const port = Number(new URL(url).port);
    const out = join(work.path, 'ab');
    const args = (u: string) => ['ab', '--prompts', join(work.path, 'prompts.jsonl'), '--vector', JOY, '--strengths', '3', '--n', '2', '--reward', 'afinn', '--gold', 'vader',
      '--beta', '0.5', '--utility', 'rouge-l', '--max-new-tokens', '6', '--seed', '4', '--kl-resamples', '40', '-o', out, '--json',
      '--backend', `openai:${u}`, '--retries', '0', '--concurrency', '2'];
    killAfter = 7;
    const first = await runCli(args(url));
    expect(first.code, first.stderr).toBe(1);
    const error = withoutProgress(first.stderr, 'ab');
    expect(error.trimEnd().split('\n'), first.stderr).toHaveLength(1);
    expect(error).toMatch(/^onnx-steer: cannot reach the backend at http:\/\/127\.0\.0\.1:\d+\/v1|^onnx-steer: the backend .* refused/);
    expect(existsSync(join(out, 'results.json'))).toBe(false);
    const kept = journalRecords(out);
    expect(kept.length).toBeGreaterThan(0);
    const keptDraws = kept.filter((r) => r.op === 'draw').length;
    expect(keptDraws).toBeLessThan(4 * PROMPTS.length);

    // Down for good: the rerun fails the same way and leaves the journal as it was.
    await died;
    const before = readFileSync(join(out, readdirSync(out).find((f) => f.startsWith('journal-')) as string));
    const down = await runCli(args(url));
    expect(down.code).toBe(1);
    expect(readFileSync(join(out, readdirSync(out).find((f) => f.startsWith('journal-')) as string))).toEqual(before);

    killAfter = Infinity;
    draws = 0;
    await start(port);
    const second = await runCli(args(url));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming from .*journal-[0-9a-f]{16}\.jsonl \(\d+ results already there\)/);
    const all = journalRecords(out);
    // Per prompt: baseline, reference, steer-sample and steer draws; log π_ref and log π_steered of both steered pools.
    expect(all.filter((r) => r.op === 'draw')).toHaveLength(4 * PROMPTS.length);
    expect(all.filter((r) => r.op === 'score')).toHaveLength(4 * PROMPTS.length);
    expect(new Set(all.map((r) => r.k)).size).toBe(all.length);
    expect(draws).toBe(4 * PROMPTS.length - keptDraws);

    const resumed = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { selections: { arm: string; promptIndex: number; chosen: number | null }[]; prompts: { pools: { candidates: { text: string; proxy: number | null }[] }[] }[] };
    const local = await runAB(model, {
      prompts: PROMPTS, vector: SteeringVector.load(JOY, { model }), strengths: [3], ns: [2], beta: 0.5,
      proxy: await parseReward('afinn'), gold: await parseReward('vader'), utility: parseUtility('rouge-l'),
      sampling: { maxNewTokens: 6, seed: 4 }, klResamples: 40,
    });
    expect(resumed.selections.map((s) => [s.arm, s.promptIndex, s.chosen])).toEqual(local.selections.map((s) => [s.arm, s.promptIndex, s.chosen]));
    expect(resumed.prompts.map((q) => q.pools.map((p) => p.candidates.map((c) => [c.text, c.proxy])))).toEqual(local.pools.map((ps) => ps.map((p) => p.candidates.map((c) => [c.text, c.proxy]))));
  }, 240_000);
});
