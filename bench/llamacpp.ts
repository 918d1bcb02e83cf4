/**
 * onnx-steer against llama.cpp on identical weights (issue 14, "peers on the
 * same weights"):
 *
 *   npx tsx bench/llamacpp.ts [--runs=5] [--tokens=64] [--threads=2] [--plain] [--smoke]
 *
 * One random-init SmolLM2-135M-shaped Llama with a 2048-token vocabulary
 * (the default model's tokenizer, so the GGUF has a real vocabulary; 107M
 * parameters, tied embeddings) is built once by `onnx-steer build`, into the
 * fp32 hooked build and the int8 hooked build (`--quantize int8`) of the same
 * seed-0 weights, and the fp32 build is exported once by our GGUF writer
 * (`onnx-steer export --format gguf`) to F32 and Q8_0. llama.cpp runs the
 * GGUF files through node-llama-cpp 3.21.1 (its prebuilt CPU binary, no GPU,
 * F32 KV cache like ours, flash attention off).
 *
 * What is timed: batch-1 greedy decode of `--tokens` new tokens from the same
 * 16 prompt ids, i.e. that many single-token steps over a growing KV cache
 * on each engine. The prompt minus its last token is prefilled first and
 * timed separately (reported, not in the ratio); the first timed step feeds
 * the last prompt token. Both engines use `--threads` threads (onnxruntime
 * intra-op threads; llama.cpp context threads). Per round: onnx-steer, then
 * llama.cpp (A B A B), after one warm-up round; the figure is the median
 * over rounds of (llama.cpp time ÷ onnx-steer time) = onnx-steer tokens/s ÷
 * llama.cpp tokens/s. Wall clock and process CPU time (`process.cpuUsage()`,
 * every thread of this process: onnxruntime's intra-op pool, ggml's thread
 * pool and node-llama-cpp's worker thread, and the JavaScript loop; both
 * pools spin while waiting for work, so at 2 threads CPU time counts spinning
 * too and is not a work measure; at 1 thread it is).
 *
 * Prints one self-describing JSON line per figure, with `uptime` before and
 * after. `--smoke` runs the tiny default model for 4 tokens, once (for
 * `npm run bench -- --smoke`); `--plain` adds the unhooked fp32 graph of the
 * same weights against llama.cpp F32.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp';
import { buildModel } from '../src/builder/index.js';
import { manifestPath, readManifest } from '../src/hooks/manifest.js';
import { exportGgufModel, type GgufModelType } from '../src/interop/gguf-model.js';
import { argmax } from '../src/math/stats.js';
import { defaultModelDir, resolveDefaultCheckpoint } from '../src/model/default-model.js';
import { ModelRunner } from '../src/runtime/runner.js';
import { LIBRARY_VERSION } from '../src/version.js';
import { SMOLLM2_135M, benchDir } from './models.js';
import { defaultQuantized, quantizedModel } from './quantized.js';
import { summarize, type Summary } from './stats.js';

/** The shape: SmolLM2-135M with a 2048-token vocabulary. */
export const SMOLLM2_V2048 = { ...SMOLLM2_135M, vocab_size: 2048 };
const NAME = 'smollm2-135m-v2048';
const LABEL = 'smollm2-135m shape, vocab 2048 (random init, seed 0)';

export interface LlamaCppOptions {
  smoke: boolean;
  runs: number;
  tokens: number;
  threads: number;
  /** Also measure the unhooked fp32 graph against F32. */
  plain: boolean;
  /** Receives each JSON figure as it is measured. */
  emit?: (figure: Record<string, unknown>) => void;
}

/** The engines' builds of one set of weights. */
export interface SameWeights {
  label: string;
  parameters: number;
  fp32: string;
  int8: string;
  plain?: string;
  gguf: Record<GgufModelType, string>;
}

export function uptime(): string {
  try {
    return execFileSync('uptime').toString().trim();
  } catch {
    return 'unknown';
  }
}

/** Parameters of a Llama config: embedding (tied), attention, MLP and norms. */
export function llamaParameters(c: typeof SMOLLM2_135M): number {
  const hd = c.hidden_size / c.num_attention_heads;
  const q = c.num_attention_heads * hd;
  const kv = c.num_key_value_heads * hd;
  const layer = c.hidden_size * (q + 2 * kv) + q * c.hidden_size + 3 * c.hidden_size * c.intermediate_size + 2 * c.hidden_size;
  return c.vocab_size * c.hidden_size * (c.tie_word_embeddings ? 1 : 2) + c.num_hidden_layers * layer + c.hidden_size;
}

/** The GGUF export of a build, cached under the build's fingerprint (a rebuilt model gets a new file). */
function ggufOf(dir: string, name: string, type: GgufModelType): string {
  const fingerprint = readManifest(dir).fingerprint.replace(/[^0-9a-zA-Z]/g, '').slice(-12);
  const out = join(benchDir(), 'gguf', `${name}-${fingerprint}-${type}.gguf`);
  if (!existsSync(out)) {
    mkdirSync(join(benchDir(), 'gguf'), { recursive: true });
    exportGgufModel(dir, out, { type, name });
  }
  return out;
}

/** Builds (once per cache) the random-init model, its int8 and (with `plain`) unhooked builds, and the two GGUF files. */
export async function prepareSameWeights(smoke: boolean, plain: boolean): Promise<SameWeights> {
  if (smoke) {
    const fp32 = await defaultModelDir();
    return {
      label: 'tinystories-656k (smoke)', parameters: 0, fp32,
      int8: await defaultQuantized('int8'),
      gguf: { f32: ggufOf(fp32, 'tinystories-656k', 'f32'), q8_0: ggufOf(fp32, 'tinystories-656k', 'q8_0') },
    };
  }
  const cfgDir = join(benchDir(), `${NAME}-config`);
  if (!existsSync(join(cfgDir, 'tokenizer.json'))) {
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(join(cfgDir, 'config.json'), JSON.stringify(SMOLLM2_V2048, null, 2));
    // The default model's tokenizer has exactly 2048 tokens (BOS 1, EOS 2, as in the config): the GGUF needs a vocabulary.
    const ckpt = await resolveDefaultCheckpoint();
    for (const f of ['tokenizer_config.json', 'special_tokens_map.json']) if (existsSync(join(ckpt, f))) copyFileSync(join(ckpt, f), join(cfgDir, f));
    copyFileSync(join(ckpt, 'tokenizer.json'), join(cfgDir, 'tokenizer.json.tmp'));
    renameSync(join(cfgDir, 'tokenizer.json.tmp'), join(cfgDir, 'tokenizer.json'));
  }
  const build = async (suffix: string, sites?: []) => {
    const dir = join(benchDir(), `${NAME}-${suffix}`);
    if (!existsSync(manifestPath(dir))) await buildModel(cfgDir, dir, { randomInit: { seed: 0 }, force: true, ...(sites ? { sites } : {}) });
    return dir;
  };
  const fp32 = await build('hooked');
  return {
    label: LABEL,
    parameters: llamaParameters(SMOLLM2_V2048),
    fp32,
    int8: await quantizedModel(`${NAME}-hooked`, cfgDir, 'int8', true),
    ...(plain ? { plain: await build('plain', []) } : {}),
    gguf: { f32: ggufOf(fp32, NAME, 'f32'), q8_0: ggufOf(fp32, NAME, 'q8_0') },
  };
}

/** The prompt both engines decode from: BOS then 15 fixed ids. */
export const PROMPT: readonly number[] = [1, ...Array.from({ length: 15 }, (_, i) => 10 + 37 * i)];

export interface DecodeRun { ids: number[]; prefillMs: number; decodeMs: number; decodeCpuMs: number }

const cpuMs = (since: NodeJS.CpuUsage) => { const u = process.cpuUsage(since); return (u.user + u.system) / 1000; };

/** A decoder of one engine: prefill all but the last prompt id (timed apart), then `n` greedy single-token steps. */
export type Decoder = (prompt: readonly number[], n: number) => Promise<DecodeRun>;

export async function onnxSteerDecoder(dir: string, threads: number): Promise<{ decode: Decoder; close: () => Promise<void> }> {
  const runner = await ModelRunner.open(dir, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const decode: Decoder = async (prompt, n) => {
    let t = performance.now();
    const pre = await runner.forward({ ids: prompt.slice(0, -1), batch: 1, seqLen: prompt.length - 1, cache: runner.emptyCache(1), logits: false });
    const prefillMs = performance.now() - t;
    let cache = pre.cache;
    let next = prompt[prompt.length - 1] as number;
    const ids: number[] = [];
    t = performance.now();
    const c = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const r = await runner.forward({ ids: [next], batch: 1, seqLen: 1, cache });
      cache = r.cache;
      next = argmax(r.logits?.data ?? []);
      ids.push(next);
    }
    return { ids, prefillMs, decodeMs: performance.now() - t, decodeCpuMs: cpuMs(c) };
  };
  return { decode, close: () => runner.release() };
}

export interface LlamaCppEngine { llama: Llama; version: string; release: string }

/** node-llama-cpp's llama.cpp; `log` receives llama.cpp's info-level log (for its own timings), else only errors are printed. */
export async function loadLlamaCpp(log?: (text: string) => void): Promise<LlamaCppEngine> {
  const mod = await import('node-llama-cpp');
  // maxThreads 0: the context's `threads` is then exactly the number of threads llama.cpp uses.
  const llama = await mod.getLlama({
    gpu: false, build: 'never', maxThreads: 0,
    ...(log ? { logLevel: mod.LlamaLogLevel.info, logger: (_level: unknown, message: string) => log(message) } : { logLevel: mod.LlamaLogLevel.error }),
  });
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'node_modules', 'node-llama-cpp', 'package.json'), 'utf8')) as { version: string };
  return { llama, version: pkg.version, release: llama.llamaCppRelease.release };
}

export const KV_CACHE = 'F32';

export interface LlamaCppDecoder { decode: Decoder; close: () => Promise<void>; model: LlamaModel; context: LlamaContext }

export async function llamaCppDecoder(engine: LlamaCppEngine, gguf: string, threads: number, contextSize: number, performanceTracking = false): Promise<LlamaCppDecoder> {
  const model = await engine.llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize, threads, batchSize: 512, flashAttention: false, performanceTracking,
    experimentalKvCacheKeyType: KV_CACHE, experimentalKvCacheValueType: KV_CACHE,
  });
  const seq: LlamaContextSequence = context.getSequence();
  const decode: Decoder = async (prompt, n) => {
    await seq.clearHistory();
    let t = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1) as Token[]);
    const prefillMs = performance.now() - t;
    const ids: number[] = [];
    t = performance.now();
    const c = process.cpuUsage();
    // Greedy (temperature 0): one single-token llama_decode per yielded id; EOS does not stop the run.
    for await (const token of seq.evaluate([prompt[prompt.length - 1] as Token], { temperature: 0, yieldEogToken: true })) {
      ids.push(token);
      if (ids.length >= n) break;
    }
    return { ids, prefillMs, decodeMs: performance.now() - t, decodeCpuMs: cpuMs(c) };
  };
  return { decode, model, context, close: async () => { await context.dispose(); await model.dispose(); } };
}

export interface PairResult {
  bench: 'llamacpp';
  figure: string;
  model: string;
  ours: { engine: string; build: string; tokensPerSec: Summary; cpuMsPerToken: Summary; prefillMs: Summary };
  theirs: { engine: string; gguf: string; tokensPerSec: Summary; cpuMsPerToken: Summary; prefillMs: Summary };
  /** onnx-steer tokens/s ÷ llama.cpp tokens/s, per A/B round (target ≥ 1.0). */
  wallRatio: Summary & { rounds: number[] };
  /** llama.cpp CPU time ÷ onnx-steer CPU time over the same rounds (see the file header for what CPU time includes). */
  cpuRatio: Summary & { rounds: number[] };
  target: number;
  met: boolean;
  threads: number;
  newTokens: number;
  promptTokens: number;
  /** Greedy ids of the two engines over the timed decode. */
  greedy: { identical: boolean; agreePrefix: number; firstMismatch?: { position: number; ours: number; theirs: number }; stableAcrossRuns: boolean };
}

/** A B A B over `runs` rounds after one warm-up round. */
export async function comparePair(figure: string, model: string, ours: { decode: Decoder; build: string; engine: string }, theirs: { decode: Decoder; gguf: string; engine: string }, opts: { runs: number; tokens: number; threads: number }): Promise<PairResult> {
  const warm = Math.min(opts.tokens, 8);
  await ours.decode(PROMPT, warm);
  await theirs.decode(PROMPT, warm);
  const a: DecodeRun[] = [];
  const b: DecodeRun[] = [];
  for (let r = 0; r < opts.runs; r++) {
    a.push(await ours.decode(PROMPT, opts.tokens));
    b.push(await theirs.decode(PROMPT, opts.tokens));
  }
  const tps = (runs: DecodeRun[]) => summarize(runs.map((x) => (opts.tokens * 1000) / x.decodeMs));
  const cpt = (runs: DecodeRun[]) => summarize(runs.map((x) => x.decodeCpuMs / opts.tokens));
  const pre = (runs: DecodeRun[]) => summarize(runs.map((x) => x.prefillMs));
  const wall = a.map((x, i) => (b[i] as DecodeRun).decodeMs / x.decodeMs);
  const cpu = a.map((x, i) => (b[i] as DecodeRun).decodeCpuMs / x.decodeCpuMs);
  const oursIds = a[a.length - 1]?.ids ?? [];
  const theirsIds = b[b.length - 1]?.ids ?? [];
  let prefix = 0;
  while (prefix < oursIds.length && oursIds[prefix] === theirsIds[prefix]) prefix++;
  const same = (runs: DecodeRun[]) => runs.every((x) => x.ids.join() === runs[0]?.ids.join());
  const wallRatio = { ...summarize(wall), rounds: wall };
  return {
    bench: 'llamacpp', figure, model,
    ours: { engine: ours.engine, build: ours.build, tokensPerSec: tps(a), cpuMsPerToken: cpt(a), prefillMs: pre(a) },
    theirs: { engine: theirs.engine, gguf: theirs.gguf, tokensPerSec: tps(b), cpuMsPerToken: cpt(b), prefillMs: pre(b) },
    wallRatio,
    cpuRatio: { ...summarize(cpu), rounds: cpu },
    target: 1, met: wallRatio.median >= 1,
    threads: opts.threads, newTokens: opts.tokens, promptTokens: PROMPT.length,
    greedy: {
      identical: prefix === oursIds.length && oursIds.length === theirsIds.length,
      agreePrefix: prefix,
      ...(prefix < oursIds.length ? { firstMismatch: { position: prefix, ours: oursIds[prefix] ?? -1, theirs: theirsIds[prefix] ?? -1 } } : {}),
      stableAcrossRuns: same(a) && same(b),
    },
  };
}

export interface LlamaCppSection {
  setup: Record<string, unknown>;
  pairs: PairResult[];
  uptime: { before: string; after: string };
}

/** The whole comparison; `emit` receives each figure as soon as it is measured. */
export async function llamaCppFigures(opts: LlamaCppOptions): Promise<LlamaCppSection> {
  const emit = opts.emit ?? (() => undefined);
  const before = uptime();
  emit({ bench: 'llamacpp', figure: 'uptime', when: 'before', uptime: before });
  const m = await prepareSameWeights(opts.smoke, opts.plain);
  const engine = await loadLlamaCpp();
  const oursEngine = `onnx-steer ${LIBRARY_VERSION}, onnxruntime-node ${ort.env.versions.common} CPU, intra-op threads ${opts.threads}`;
  const theirsEngine = `llama.cpp ${engine.release} via node-llama-cpp ${engine.version} (prebuilt CPU binary), threads ${opts.threads}, KV cache ${KV_CACHE}, flash attention off`;
  const setup = {
    bench: 'llamacpp', figure: 'setup', model: m.label, parameters: m.parameters, config: opts.smoke ? 'tinystories-656k' : SMOLLM2_V2048,
    builds: { fp32: m.fp32, int8: m.int8, ...(m.plain ? { plain: m.plain } : {}), ...m.gguf },
    ours: oursEngine, theirs: theirsEngine, systemInfo: engine.llama.systemInfo,
    threads: opts.threads, newTokens: opts.tokens, runs: opts.runs, prompt: PROMPT,
    method: 'batch-1 greedy decode; prompt minus its last id prefilled untimed (reported as prefillMs); timed: newTokens single-token steps; per round onnx-steer then llama.cpp (A B A B) after a warm-up round; ratio = onnx-steer tokens/s ÷ llama.cpp tokens/s per round, median; cpuRatio from process.cpuUsage (all threads of the process, spin-waiting included)',
  };
  emit(setup);
  const context = PROMPT.length + opts.tokens + 16;
  const pairs: PairResult[] = [];
  const plan: [string, string, string, GgufModelType][] = [
    ['fp32 ÷ llama.cpp F32', 'fp32 hooked build (every hook site, no plan)', m.fp32, 'f32'],
    ['int8 ÷ llama.cpp Q8_0', 'int8 hooked build (--quantize int8)', m.int8, 'q8_0'],
    ...(m.plain ? [['unhooked fp32 ÷ llama.cpp F32', 'fp32 build without hook sites (--sites none)', m.plain, 'f32'] as [string, string, string, GgufModelType]] : []),
  ];
  for (const [figure, build, dir, type] of plan) {
    const ours = await onnxSteerDecoder(dir, opts.threads);
    const theirs = await llamaCppDecoder(engine, m.gguf[type], opts.threads, context);
    try {
      const r = await comparePair(figure, m.label, { decode: ours.decode, build, engine: oursEngine }, { decode: theirs.decode, gguf: `${type.toUpperCase()} (${m.gguf[type]})`, engine: theirsEngine }, opts);
      pairs.push(r);
      emit({ ...r });
    } finally {
      await ours.close();
      await theirs.close();
    }
  }
  const after = uptime();
  emit({ bench: 'llamacpp', figure: 'uptime', when: 'after', uptime: after });
  await engine.llama.dispose();
  return { setup, pairs, uptime: { before, after } };
}

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

function positive(name: string, fallback: number): number {
  const raw = arg(name);
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got ${String(raw)}`);
  return v;
}

async function main(): Promise<void> {
  const smoke = process.argv.includes('--smoke');
  const opts: LlamaCppOptions = {
    smoke,
    runs: positive('runs', smoke ? 1 : 5),
    tokens: positive('tokens', smoke ? 4 : 64),
    threads: positive('threads', 2),
    plain: process.argv.includes('--plain'),
    emit: (x) => process.stdout.write(`${JSON.stringify(x)}\n`),
  };
  const r = await llamaCppFigures(opts);
  const fp32 = r.pairs[0];
  if (fp32 && !fp32.greedy.identical) process.stderr.write(`llamacpp: fp32 and llama.cpp F32 greedy ids differ at ${JSON.stringify(fp32.greedy.firstMismatch)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`llamacpp bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
