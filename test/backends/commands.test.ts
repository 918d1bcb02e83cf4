/**
 * `onnx-steer patterns` and `onnx-steer prefs` through the openai backend
 * against onnx-steer's own server (in-process, 127.0.0.1, port 0) report
 * what the local backend reports on the same seeds: the same patterns,
 * selectors and clustering; the same per-pair log-probs and DPO/RPO numbers
 * (steered or not, reference on the server or local). With -o, a rerun
 * resumes from the journal without a request, and a failed rerun leaves the
 * journal byte for byte as it was.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../helpers/cli.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { runPatterns } from '../../src/patterns/run.js';
import { openaiBackend } from '../../src/backends/openai.js';
import { parseReward } from '../../src/rewards/parse.js';
import { MiniLMEmbedder } from '../../src/embed/minilm.js';
import { defaultDir, loadDefault } from '../helpers/models.js';
import { REPO, tempDir } from '../helpers/paths.js';
import { startServer, VECTORS, type Running } from '../server/helpers.js';

const work = tempDir('onnx-steer-commands-');
let model: HookedModel;
let dir: string;
let srv: Running;
let completions = 0;
const W = (name: string) => join(work.path, name);

const runCli = runMain;

const PROMPTS = ['Once upon a time, there was a boy named Jake. ', 'One day, Sara went to see her friend. ', 'Peter had a new hat. ', 'Molly found a box under her bed. '];

beforeAll(async () => {
  model = await loadDefault();
  dir = await defaultDir();
  srv = await startServer(model, {
    maxBatch: 16,
    onApp: (app) => app.addHook('onRequest', (req, _reply, done) => { if (req.method === 'POST' && req.url === '/v1/completions') completions++; done(); }),
  });
  writeFileSync(W('prompts.jsonl'), PROMPTS.map((p) => JSON.stringify({ prompt: p })).join('\n'));
  const pairs = readFileSync(join(REPO, 'vectors', 'tinystories-656k', 'joy.pairs.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).slice(0, 6);
  writeFileSync(W('pairs.jsonl'), `${pairs.join('\n')}\n`);
}, 120_000);
afterAll(async () => {
  await srv?.close();
  await model?.dispose();
  work.cleanup();
});

/** Equal, numbers to 4 decimals. */
function close(got: unknown, want: unknown, at: string): void {
  if (typeof want === 'number' && typeof got === 'number') { expect(got, at).toBeCloseTo(want, 4); return; }
  if (Array.isArray(want) && Array.isArray(got)) { expect(got.length, at).toBe(want.length); want.forEach((w, i) => close(got[i], w, `${at}[${i}]`)); return; }
  if (want && typeof want === 'object' && got && typeof got === 'object') {
    expect(Object.keys(got).sort(), at).toEqual(Object.keys(want).sort());
    for (const [k, w] of Object.entries(want)) close((got as Record<string, unknown>)[k], w, `${at}.${k}`);
    return;
  }
  expect(got, at).toEqual(want);
}

const journalOf = (out: string) => readdirSync(out).find((f) => f.startsWith('journal-')) as string;

describe('patterns through a server = patterns locally', () => {
  const common = ['patterns', '--prompts', W('prompts.jsonl'), '--n', '4', '--clusters', '2', '--verifier', 'names-again', '--utility', 'minilm', '--strengths', 'none', '--max-new-tokens', '12', '--seed', '3', '--json'];

  it('the same patterns, selectors and clustering (CLI), and a rerun resumes from the journal without a request', async () => {
    const local = await runCli([...common, '--model', dir, '-o', W('pat-local')]);
    expect(local.code, local.stderr).toBe(0);
    const before = completions;
    const remote = await runCli([...common, '--backend', `openai:${srv.url}`, '--retries', '0', '--concurrency', '2', '-o', W('pat-remote')]);
    expect(remote.code, remote.stderr).toBe(0);
    expect(completions - before).toBe(PROMPTS.length); // one request of n = 4 per prompt
    const a = JSON.parse(local.stdout) as Record<string, unknown>;
    const b = JSON.parse(remote.stdout) as Record<string, unknown>;
    expect(b.backend).toMatch(/^openai:http:\/\/127\.0\.0\.1:\d+\/v1#tinystories-656k$/);
    expect(a.backend).toMatch(/^local:/);
    // MiniLM embeds the same texts; clustering, p(r), π_ref mass (from the draws' log-probs) agree.
    for (const key of ['patterns', 'selectors', 'clustering', 'setup'] as const) close(b[key], a[key], key);
    const [sa, sb] = [a.steering, b.steering] as { site: string | null; bestPattern: number; baseline: unknown; strengths: unknown[] }[];
    expect(sb?.site).toBeNull();
    expect(sa?.site).toMatch(/hook_resid_post$/);
    expect([sb?.bestPattern, sb?.baseline, sb?.strengths]).toEqual([sa?.bestPattern, sa?.baseline, []]);

    // Resume: the report is gone, the journal is there; the rerun sends no completion and prints the same report.
    const journal = join(W('pat-remote'), journalOf(W('pat-remote')));
    const bytes = readFileSync(journal);
    rmSync(join(W('pat-remote'), 'report.json'));
    const sent = completions;
    const again = await runCli([...common, '--backend', `openai:${srv.url}`, '--retries', '0', '-o', W('pat-remote')]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming from .*journal-[0-9a-f]{16}\.jsonl \(4 results already there\)/);
    expect(completions).toBe(sent);
    expect(JSON.parse(again.stdout)).toEqual(b);
    expect(readFileSync(journal).equals(bytes)).toBe(true);
  }, 240_000);

  it('runPatterns() on the openai backend equals the local model; activations are refused with a typed error', async () => {
    const remote = await openaiBackend({ baseURL: srv.url, maxRetries: 0 });
    const verifier = await parseReward('verifier:quoted-speech');
    const embedder = await MiniLMEmbedder.load();
    const o = { prompts: PROMPTS, n: 3, verifier, clusters: 2, utility: 'minilm' as const, embedder, strengths: [], maxNewTokens: 10, seed: 1, temperature: 1 };
    const a = await runPatterns(model, o);
    const b = await runPatterns(remote, { ...o, concurrency: 3 });
    expect(b.patterns.map((p) => [p.size, p.success, p.examples])).toEqual(a.patterns.map((p) => [p.size, p.success, p.examples]));
    b.patterns.forEach((p, i) => expect(p.refMass).toBeCloseTo(a.patterns[i]?.refMass ?? NaN, 4));
    expect(b.selectors).toEqual(a.selectors);
    await expect(runPatterns(remote, { ...o, utility: 'hidden' })).rejects.toThrow(/the hidden utility .* needs the model's activations, which openai:.* does not return/);
    await expect(runPatterns(remote, { ...o, strengths: [1] })).rejects.toThrow(/steering toward a pattern .* needs the model's activations/);
  }, 240_000);
});

describe('prefs through a server = prefs locally', () => {
  interface Report { pairs: { policy: { chosen: number; rejected: number }; references: { chosen: number; rejected: number }[] }[]; dpo: { loss: number; margin: number; accuracy: number }; rpo: { loss: number }; policy: { dir: string; fingerprint: string | null; steering: string | null }; references: { dir: string }[] }
  const prefs = async (...rest: string[]) => {
    const r = await runCli(['prefs', '--policy', dir, '--pairs', W('pairs.jsonl'), '--json', ...rest]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Report;
  };
  const same = (a: Report, b: Report) => {
    expect(b.pairs).toHaveLength(a.pairs.length);
    b.pairs.forEach((p, i) => {
      const q = a.pairs[i] as Report['pairs'][number];
      expect(p.policy.chosen).toBeCloseTo(q.policy.chosen, 3);
      expect(p.policy.rejected).toBeCloseTo(q.policy.rejected, 3);
      p.references.forEach((r, k) => { expect(r.chosen).toBeCloseTo(q.references[k]?.chosen ?? NaN, 3); expect(r.rejected).toBeCloseTo(q.references[k]?.rejected ?? NaN, 3); });
    });
    expect(b.dpo.loss).toBeCloseTo(a.dpo.loss, 4);
    expect(b.dpo.accuracy).toBe(a.dpo.accuracy);
    expect(b.rpo.loss).toBeCloseTo(a.rpo.loss, 3);
  };

  it('the same log-probs and criteria, steered by a vector the server lists, with the reference on the server or local', async () => {
    const vector = `${join(VECTORS, 'joy.json')}=2`;
    const local = await prefs('--vector', vector);
    const remote = await prefs('--vector', vector, '--backend', `openai:${srv.url}`, '--retries', '0', '--concurrency', '3');
    same(local, remote);
    expect(remote.policy.dir).toMatch(/^openai:http/);
    expect(remote.policy.fingerprint).toBeNull();
    expect(remote.references[0]?.dir).toMatch(/^openai:http/);
    expect(local.dpo.margin).not.toBe(0); // steering moved the policy: the comparison is not trivially 0 = 0
    const mixed = await prefs('--vector', vector, '--backend', `openai:${srv.url}`, '--reference-backend', 'local', '--retries', '0');
    same(local, mixed);
    expect(mixed.references[0]?.dir).toBe(local.references[0]?.dir);
    const refRemote = await prefs('--vector', vector, '--reference-backend', `openai:${srv.url}`, '--retries', '0');
    same(local, refRemote);
  }, 240_000);

  it('-o writes prefs.json and a journal; a rerun resumes without a request; a rerun against a dead server fails in one line and leaves the journal as it was', async () => {
    const out = W('prefs-out');
    const args = ['--backend', `openai:${srv.url}`, '--retries', '0', '-o', out];
    const first = await prefs(...args);
    const journal = join(out, journalOf(out));
    const bytes = readFileSync(journal);
    expect(JSON.parse(readFileSync(join(out, 'prefs.json'), 'utf8'))).toEqual(first);
    rmSync(join(out, 'prefs.json'));
    const sent = completions;
    const r = await runCli(['prefs', '--policy', dir, '--pairs', W('pairs.jsonl'), '--json', ...args]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming from .*journal-/);
    // One probe for the scoring mode (prepare), no scoring request.
    expect(completions - sent).toBeLessThanOrEqual(1);
    expect(JSON.parse(r.stdout)).toEqual(first);
    rmSync(join(out, 'prefs.json'));
    const dead = await runCli(['prefs', '--policy', dir, '--pairs', W('pairs.jsonl'), '--backend', 'openai:http://127.0.0.1:9', '--retries', '0', '-o', out]);
    expect(dead.code).toBe(1);
    expect(dead.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(dead.stderr).toMatch(/^onnx-steer: cannot reach the backend at http:\/\/127\.0\.0\.1:9\/v1/);
    expect(readFileSync(journal).equals(bytes)).toBe(true);
  }, 240_000);
});
