/**
 * The bad-input catalogue: one row per mistake a user (or a hostile tester)
 * can make, across the CLI and the library. Every CLI row asserts the exit
 * code (2 usage, 1 runtime), a single `onnx-steer: ` line naming the problem,
 * no stack trace, and that the work directory holds nothing new afterwards.
 * Every library row asserts the typed error class and its message.
 */
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { main } from '../../src/cli/program.js';
import { createServer, type SteeringServer } from '../../src/server/app.js';
import { CorruptFileError, InvalidArgumentError, InvalidDataError, SteeringError } from '../../src/errors.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { parsePairs } from '../../src/pairs/pairs.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { defaultDir, loadDefault } from '../helpers/models.js';
import { FIXTURES, REPO, tempDir, TINYSTORIES } from '../helpers/paths.js';
import { withoutProgress } from '../helpers/progress.js';

const VECTOR = join(REPO, 'vectors', 'tinystories-656k', 'joy.json');
const PAIRS = join(REPO, 'vectors', 'tinystories-656k', 'joy.pairs.jsonl');

const work = tempDir('onnx-steer-catalogue-');
let modelDir: string;
let model: HookedModel;
/** onnx-steer serve with an API key, and a server that completes but returns no log-probs (as llama.cpp's). */
let keyed: SteeringServer;
let keyedUrl = '';
let bare: FastifyInstance;
let bareUrl = '';
/** A port nothing listens on. */
let deadUrl = '';
const W = (name: string) => join(work.path, name);

/** Snapshot of every path under the work directory. */
function listing(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((name) => {
    const rel = join(prefix, name);
    return statSync(join(dir, name)).isDirectory() ? [rel, ...listing(join(dir, name), rel)] : [rel];
  }).sort();
}

async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { stdout += String(c); return true; });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { stderr += String(c); return true; });
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
}

beforeAll(async () => {
  modelDir = await defaultDir();
  model = await loadDefault();
  keyed = createServer(model, { modelName: 'tinystories-656k', vectors: join(REPO, 'vectors', 'tinystories-656k'), apiKey: 'secret' });
  keyedUrl = await keyed.app.listen({ host: '127.0.0.1', port: 0 });
  bare = Fastify();
  bare.get('/v1/models', () => ({ object: 'list', data: [{ id: 'bare', object: 'model' }] }));
  bare.post('/v1/completions', () => ({ id: 'c', object: 'text_completion', created: 0, model: 'bare', choices: [{ index: 0, text: ' hi', finish_reason: 'length', logprobs: null }] }));
  bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  const probe = Fastify();
  deadUrl = await probe.listen({ host: '127.0.0.1', port: 0 });
  await probe.close();
  SteeringVector.load(VECTOR).scale(2).save(W('scaled-joy.json'));
  mkdirSync(W('adir'));
  writeFileSync(W('afile'), 'x');
  writeFileSync(W('existing.json'), '{}');
  writeFileSync(W('empty.jsonl'), '');
  writeFileSync(W('badline.jsonl'), '{"chosen": "a", "rejected": "b"}\n{oops\n');
  writeFileSync(W('nochosen.jsonl'), '{"rejected": "b"}\n');
  writeFileSync(W('notjson.json'), '{"format": ');
  const vec = JSON.parse(readFileSync(VECTOR, 'utf8')) as Record<string, unknown> & { sites: { direction: string }[] };
  const resaved = SteeringVector.load(VECTOR).toJSON();
  const flipped = structuredClone(resaved);
  const bytes = Buffer.from(flipped.sites[0]!.direction, 'base64');
  bytes[5] = (bytes[5] ?? 0) ^ 0x01; // one bit of one float
  flipped.sites[0]!.direction = bytes.toString('base64');
  writeFileSync(W('tampered-vector.json'), JSON.stringify(flipped));
  writeFileSync(W('badchecksum.json'), JSON.stringify({ ...resaved, checksum: 'sha256:xyz' }));
  writeFileSync(W('wronghidden.json'), JSON.stringify({ ...vec, hiddenSize: 7, model: { ...(vec.model as object), hiddenSize: 7 } }));
  writeFileSync(W('badbase64.json'), JSON.stringify({ ...vec, sites: vec.sites.map((s) => ({ ...s, direction: '!!!' })) }));
  writeFileSync(W('notvector.json'), JSON.stringify({ format: 'something-else' }));
  // Model directories: truncated external data, a manifest naming tensors the graph lacks, broken hooks.json.
  cpSync(modelDir, W('trunc'), { recursive: true });
  truncateSync(W('trunc/model.onnx.data'), statSync(W('trunc/model.onnx.data')).size - 4);
  cpSync(modelDir, W('tampered'), { recursive: true });
  const m = JSON.parse(readFileSync(W('tampered/hooks.json'), 'utf8')) as { sites: { steer: string }[] };
  for (const s of m.sites) s.steer += '.missing';
  writeFileSync(W('tampered/hooks.json'), JSON.stringify(m));
  mkdirSync(W('badjson'));
  writeFileSync(W('badjson/hooks.json'), '{');
  mkdirSync(W('badformat'));
  writeFileSync(W('badformat/hooks.json'), '{"format": "x"}');
  copyFileSync(PAIRS, W('pairs.jsonl'));
  writeFileSync(W('prompts-empty.jsonl'), '');
  writeFileSync(W('prompts2.jsonl'), '{"prompt": "Once upon a time"}\n{"prompt": "One day"}\n');
  mkdirSync(W('study-existing'));
  writeFileSync(join(W('study-existing'), 'results.json'), '{}');
  mkdirSync(W('patterns-existing'));
  writeFileSync(join(W('patterns-existing'), 'report.json'), '{}');
  mkdirSync(W('prefs-existing'));
  writeFileSync(join(W('prefs-existing'), 'prefs.json'), '{}');
}, 300_000);

afterAll(async () => {
  await keyed?.shutdown(0);
  await bare?.close();
  await model.dispose();
  work.cleanup();
});

type CliCase = [label: string, args: () => string[], code: 1 | 2, message: RegExp, env?: () => Record<string, string>];

const gen = (...rest: string[]) => () => ['generate', '--model', modelDir, '--prompt', 'Once', '--max-new-tokens', '2', ...rest];
const ab = (...rest: string[]) => () => ['ab', '--model', modelDir, '--prompts', W('prompts-empty.jsonl'), '--reward', 'afinn', '--gold', 'vader', '--beta', '1', '-o', W('ab-out'), ...rest];

const study = (...rest: string[]) => () => ['study', '--model', modelDir, '--prompts', W('prompts-empty.jsonl'), '--dev-prompts', W('prompts-empty.jsonl'), '-o', W('study-out'), ...rest];
/** study on two real prompts: the flags pass, the model loads, then the rewards and utility are parsed. */
const studyOn = (...rest: string[]) => () => ['study', '--model', modelDir, '--prompts', W('prompts2.jsonl'), '--dev-prompts', W('prompts2.jsonl'), '-o', W('study-out'), ...rest];
const prefs = (...rest: string[]) => () => ['prefs', '--policy', modelDir, '--pairs', PAIRS, ...rest];
const bon = (...rest: string[]) => () => ['bon', '--model', modelDir, '--prompt', 'Once', '--reward', 'afinn', '--n', '2', '--max-new-tokens', '2', '--utility', 'rouge-l', ...rest];
const remote = (...rest: string[]) => () => bon('--backend', `openai:${keyedUrl}`, '--api-key', 'secret', '--retries', '0', ...rest)();
/** patterns and prefs on a server (flags that need no activations), and with the reference on one. */
const patterns = (url: () => string, ...rest: string[]) => () => ['patterns', '--prompts', W('prompts2.jsonl'), '--n', '2', '--verifier', 'quoted-speech', '--max-new-tokens', '2', '--backend', `openai:${url()}`, '--retries', '0', ...rest];
const prefsSmall = (...rest: string[]) => () => ['prefs', '--policy', modelDir, '--pairs', W('pairs.jsonl'), '--limit', '2', ...rest];
const prefsOn = (url: () => string, ...rest: string[]) => () => prefsSmall('--backend', `openai:${url()}`, '--retries', '0', ...rest)();

const CLI: CliCase[] = [
  // Numbers parsed strictly, in range: usage errors, exit 2.
  ['top-p above 1', gen('--top-p', '2'), 2, /--top-p must be a number in \(0, 1\], got "2"/],
  ['top-p in hex', gen('--top-p', '0x1'), 2, /--top-p must be/],
  ['zero new tokens', gen('--max-new-tokens', '0'), 2, /--max-new-tokens must be an integer ≥ 1/],
  ['new tokens as exponent', gen('--max-new-tokens', '1e3'), 2, /--max-new-tokens must be an integer/],
  ['empty seed', gen('--seed', ''), 2, /--seed must be an integer, got ""/],
  ['fractional seed', gen('--seed', '1.5'), 2, /--seed must be an integer/],
  ['negative temperature', gen('--temperature', '-1'), 2, /--temperature must be a number ≥ 0/],
  ['word temperature', gen('--temperature', 'hot'), 2, /--temperature must be/],
  ['infinite temperature', gen('--temperature', 'Infinity'), 2, /--temperature must be/],
  ['fractional top-k', gen('--top-k', '1.5'), 2, /--top-k must be an integer ≥ 0/],
  ['min-p above 1', gen('--min-p', '2'), 2, /--min-p must be a number in \[0, 1\]/],
  ['zero repetition penalty', gen('--repetition-penalty', '0'), 2, /--repetition-penalty must be a number > 0/],
  ['zero candidates', gen('--n', '0'), 2, /--n must be an integer in \[1, 4096\]/],
  ['a huge batch', gen('--n', '100000'), 2, /--n must be an integer in \[1, 4096\]/],
  ['zero threads', gen('--threads', '0'), 2, /--threads must be an integer in \[1, 1024\]/],
  ['overflowing strength', gen('--vector', VECTOR, '--strength', '1e30'), 2, /--strength must be a number in \[-1000000, 1000000\]/],
  ['overflowing inline strength', gen('--vector', `${VECTOR}=1e30`), 2, /=<s> must be a number in/],
  ['a word as inline strength', gen('--vector', `${VECTOR}=strong`), 2, /--vector .*joy\.json=<s> must be a number in \[-1000000, 1000000\], got "strong"/],
  ['unknown positions', gen('--vector', VECTOR, '--strength', '1', '--positions', 'bogus'), 2, /--positions must be all, prompt, generated/],
  ['unknown operator', gen('--vector', VECTOR, '--strength', '1', '--operator', 'bogus'), 2, /--operator must be add, ablate or ablate-add/],
  ['steering flags without a vector', gen('--strength', '1'), 2, /need --vector/],
  ['vector without a strength', gen('--vector', VECTOR), 2, /give a strength/],
  ['no prompt', () => ['generate', '--model', modelDir], 2, /give exactly one of --prompt or --messages/],
  ['prompt and messages', gen('--messages', '[]'), 2, /give exactly one of --prompt or --messages/],
  ['messages not JSON', () => ['generate', '--model', modelDir, '--messages', 'nope'], 2, /--messages is not valid JSON/],
  ['messages empty', () => ['generate', '--model', modelDir, '--messages', '[]'], 2, /--messages must be a non-empty JSON array/],
  ['messages without content', () => ['generate', '--model', modelDir, '--messages', '[{"role": "user"}]'], 2, /--messages entry 0 needs string "role" and "content"/],
  ['unknown command', () => ['no-such-command'], 2, /unknown command/],
  ['unknown flag', gen('--no-such-flag'), 2, /unknown option/],
  // Lists: no empty list, no empty or negative entries.
  ['empty fractions', () => ['sweep', '--model', modelDir, '--pairs', W('pairs.jsonl'), '--fractions', ' '], 2, /--fractions must not be empty/],
  ['negative fractions', () => ['sweep', '--model', modelDir, '--pairs', W('pairs.jsonl'), '--fractions', '0.1,-0.1'], 2, /--fractions entries must be a number > 0, got "-0.1"/],
  ['an empty list entry', () => ['sweep', '--model', modelDir, '--pairs', W('pairs.jsonl'), '--sites', 'a,,b'], 2, /--sites has an empty entry/],
  ['one fold', () => ['sweep', '--model', modelDir, '--pairs', W('pairs.jsonl'), '--folds', '1'], 2, /--folds must be an integer ≥ 2/],
  ['sweep without pairs', () => ['sweep', '--model', modelDir], 2, /--pairs <file> is required/],
  ['zero KL resamples', ab('--kl-resamples', '0'), 2, /--kl-resamples must be an integer ≥ 1/],
  ['empty strengths', ab('--strengths', ''), 2, /--strengths must not be empty/],
  ['a zero N', ab('--n', '4,0'), 2, /--n entries must be an integer in \[1, 4096\], got "0"/],
  ['a repeated N', ab('--n', '4,4'), 2, /--n lists 4 twice/],
  ['negative beta grid', ab('--beta', '-1'), 2, /--beta entries must be a number ≥ 0/],
  ['an MRPO ε of 1 for the references', ab('--reference', 'a', '--reference', 'b', '--epsilon', '1'), 2, /--epsilon must be a number in \(0, 1\), got "1"/],
  ['an MRPO ε with one reference', ab('--reference', 'a', '--epsilon', '0.2'), 2, /--epsilon is MRPO's clipping of several references/],
  ['gold equal to proxy', () => ['ab', '--prompts', W('prompts-empty.jsonl'), '--reward', 'afinn', '--gold', 'afinn', '--beta', '1', '-o', W('ab-out')], 2, /--gold must differ from --reward/],
  ['study without a proxy', study(), 2, /give at least one --proxy/],
  ['study with gold as a proxy', study('--proxy', 'vader'), 2, /--gold and every --proxy must differ/],
  ['study with two proxies of one label', study('--proxy', 'a=afinn', '--proxy', 'a=length'), 2, /two --proxy entries share a label/],
  ['study with a bad proxy label', study('--proxy', 'a b=afinn'), 2, /--proxy labels use letters/],
  ['study strength without a vector', study('--proxy', 'afinn', '--strength', '1'), 2, /--strength needs --vector/],
  ['study with a zero N_max', study('--proxy', 'afinn', '--n-max', '0'), 2, /--n-max must be an integer in \[1, 4096\]/],
  ['study with a negative β multiple', study('--proxy', 'afinn', '--beta-grid', '0,-1'), 2, /--beta-grid entries must be a number ≥ 0/],
  ['study without dev prompts', () => ['study', '--prompts', W('prompts-empty.jsonl'), '--proxy', 'afinn', '-o', W('study-out')], 2, /--dev-prompts <file.jsonl> is required/],
  ['study over an existing report', () => ['study', '--prompts', W('prompts-empty.jsonl'), '--dev-prompts', W('prompts-empty.jsonl'), '--proxy', 'afinn', '-o', W('study-existing')], 1, /output already exists: .*results\.json/],
  ['study with an empty prompts file', study('--proxy', 'afinn'), 1, /no prompts|empty/i],
  ['bon with zero candidates', () => ['bon', '--model', modelDir, '--prompt', 'x', '--reward', 'afinn', '--n', '0'], 2, /--n must be an integer in \[1, 4096\]/],
  ['bon with negative beta', () => ['bon', '--model', modelDir, '--prompt', 'x', '--reward', 'afinn', '--beta', '-1'], 2, /--beta must be a number ≥ 0/],
  ['bon with an unknown method', () => ['bon', '--model', modelDir, '--prompt', 'x', '--reward', 'afinn', '--method', 'bogus'], 2, /unknown --method "bogus"/],
  ['bon with an unknown reward', () => ['bon', '--model', modelDir, '--prompt', 'x', '--reward', 'bogus', '--n', '2', '--max-new-tokens', '2'], 2, /rewards: vader, afinn/],
  ['extract with one fold', () => ['extract', '--model', modelDir, '--pairs', W('pairs.jsonl'), '-o', W('v.json'), '--folds', '1'], 2, /--folds must be an integer ≥ 2/],
  ['extract without output', () => ['extract', '--model', modelDir, '--pairs', W('pairs.jsonl')], 2, /--output <file> is required/],
  ['extract with a bad read position', () => ['extract', '--model', modelDir, '--pairs', W('pairs.jsonl'), '-o', W('v.json'), '--read', 'bogus'], 2, /unknown read position "bogus"/],
  ['build with an unknown attention', () => ['build', TINYSTORIES, '-o', W('built'), '--attention', 'bogus'], 2, /--attention must be "standard" or "gqa"/],
  ['build with an unknown quantization', () => ['build', TINYSTORIES, '-o', W('built'), '--quantize', 'int3'], 2, /--quantize must be "int8" or "int4", got "int3"/],
  ['instrument with an unknown quantization', () => ['instrument', join(FIXTURES, 'torch-legacy-tinystories-656k'), '-o', W('inst'), '--quantize', 'fp8'], 2, /--quantize must be "int8" or "int4", got "fp8"/],
  // Paths: typed one-line runtime errors, exit 1.
  ['missing model directory', () => ['generate', '--model', W('missing'), '--prompt', 'x'], 1, /not found/],
  ['model directory is a file', () => ['generate', '--model', W('afile'), '--prompt', 'x'], 1, /hooks\.json|not a directory/],
  ['pairs file is a directory', () => ['extract', '--model', modelDir, '--pairs', W('adir'), '-o', W('v.json')], 1, /cannot read pairs file .*adir: it is a directory/],
  ['missing pairs file', () => ['extract', '--model', modelDir, '--pairs', W('nope.jsonl'), '-o', W('v.json')], 1, /pairs file not found/],
  ['output is a directory', () => ['extract', '--model', modelDir, '--pairs', W('pairs.jsonl'), '-o', W('adir'), '--force'], 1, /cannot write output .*adir: it is a directory/],
  ['output under a file', () => ['extract', '--model', modelDir, '--pairs', W('pairs.jsonl'), '-o', join(W('afile'), 'v.json')], 1, /afile is not a directory/],
  ['sweep over an existing report', () => ['sweep', '--model', modelDir, '--pairs', W('pairs.jsonl'), '-o', W('existing.json')], 1, /output already exists: .*existing\.json \(pass --force/],
  ['cache is a file', () => ['generate', '--prompt', 'x', '--max-new-tokens', '1'], 1, /cannot create .*afile.*not a directory/, () => ({ ONNX_STEER_CACHE: W('afile'), ONNX_STEER_CHECKPOINT: TINYSTORIES })],
  ['build output is a file', () => ['build', TINYSTORIES, '-o', W('afile'), '--force'], 1, /it is a file, not a directory/],
  ['build from a missing checkpoint', () => ['build', W('no-checkpoint'), '-o', W('built')], 1, /not found/],
  ['instrument a non-ONNX file', () => ['instrument', W('afile'), '-o', W('inst')], 1, /not a valid ONNX model|\.onnx/],
  ['instrument --quantize of an fp16 export', () => ['instrument', join(FIXTURES, 'ortgenai-mb-tiny-llama-fp16'), '-o', W('inst16'), '--quantize', 'int8'], 1, /--quantize needs an fp32 export, this one is float16/],
  ['instrument --quantize of a quantized export', () => ['instrument', join(FIXTURES, 'ortq-mb-tiny-llama-gqa-int4'), '-o', W('instq'), '--quantize', 'int4'], 1, /--quantize found no fp32 MatMul\/Gemm weight/],
  // Model directories.
  ['manifest and graph disagree', () => ['generate', '--model', W('tampered'), '--prompt', 'x', '--vector', VECTOR, '--strength', '2'], 1, /hooks\.json names the steer input .* which the graph does not have/],
  ['inspect: manifest and graph disagree', () => ['inspect', W('tampered')], 1, /the manifest and the graph disagree/],
  ['inspect: truncated external data', () => ['inspect', W('trunc')], 1, /external data truncated/],
  ['hooks.json not JSON', () => ['generate', '--model', W('badjson'), '--prompt', 'x'], 1, /invalid JSON/],
  ['hooks.json of another format', () => ['generate', '--model', W('badformat'), '--prompt', 'x'], 1, /not an onnx-steer manifest/],
  // Vector files.
  ['a flipped bit in a vector', gen('--vector', `${W('tampered-vector.json')}=2`), 1, /checksum mismatch/],
  ['a malformed checksum', gen('--vector', `${W('badchecksum.json')}=2`), 1, /"checksum" must be "sha256:<64 hex digits>"/],
  ['a vector that is not JSON', gen('--vector', `${W('notjson.json')}=2`), 1, /invalid JSON/],
  ['a vector of the wrong size', gen('--vector', `${W('wronghidden.json')}=2`), 1, /direction has 128 values, hiddenSize is 7/],
  ['a vector with broken base64', gen('--vector', `${W('badbase64.json')}=2`), 1, /not valid base64/],
  ['a file of another format as vector', gen('--vector', `${W('notvector.json')}=2`), 1, /not an onnx-steer vector/],
  ['a vector that is a directory', gen('--vector', `${W('adir')}=2`), 1, /cannot read vector file .*: it is a directory/],
  // Pairs and prompts.
  ['an empty pairs file', () => ['extract', '--model', modelDir, '--pairs', W('empty.jsonl'), '-o', W('v.json')], 1, /no pairs/],
  ['a pairs line that is not JSON', () => ['extract', '--model', modelDir, '--pairs', W('badline.jsonl'), '-o', W('v.json')], 1, /badline\.jsonl:2: not valid JSON/],
  ['a pair without chosen', () => ['extract', '--model', modelDir, '--pairs', W('nochosen.jsonl'), '-o', W('v.json')], 1, /missing "chosen"/],
  ['an empty prompts file', ab(), 1, /no prompts/],
  // Newer commands: preference criteria, interop, serving.
  ['a DPO β of zero', () => ['prefs', '--policy', modelDir, '--pairs', PAIRS, '--beta', '0'], 2, /--beta must be > 0, got 0/],
  ['an MRPO ε outside (0, 1)', () => ['prefs', '--policy', modelDir, '--pairs', PAIRS, '--epsilon', '1'], 2, /--epsilon must lie in \(0, 1\), got 1/],
  ['a control vector at block 0', () => ['export', VECTOR, '--format', 'gguf', '-o', W('joy.gguf')], 1, /llama\.cpp rejects direction\.0/],
  ['a GGUF model type that does not exist', () => ['export', modelDir, '--format', 'gguf', '--type', 'q4_k', '-o', W('m.gguf')], 2, /--type must be f32 or q8_0, got "q4_k"/],
  ['a vector option for a model export', () => ['export', modelDir, '--format', 'gguf', '--scale', '2', '-o', W('m.gguf')], 2, /--scale applies to vectors, not to a model directory/],
  ['a model option for a vector export', () => ['export', VECTOR, '--format', 'gguf', '--type', 'q8_0', '-o', W('v.gguf')], 2, /--type applies to a model directory, not to a vector/],
  ['a GGUF export of a directory that is not a model', () => ['export', W('adir'), '--format', 'gguf', '-o', W('m.gguf')], 1, /hooks\.json|not a hooked model|manifest/],
  ['an export format other than gguf', () => ['export', VECTOR, '--format', 'onnx', '-o', W('joy.gguf')], 2, /--format must be gguf, got "onnx"/],
  ['an unknown bake operator', () => ['bake', '--model', modelDir, '--vector', `${VECTOR}=2`, '--operator', 'bogus', '-o', W('baked')], 2, /--operator must be add, ablate or ablate-add, got "bogus"/],
  ['a port out of range', () => ['serve', '--model', modelDir, '--port', '70000'], 2, /--port must be an integer in \[0, 65535\], got "70000"/],
  ['a zero batch for the server', () => ['serve', '--model', modelDir, '--max-batch', '0'], 2, /--max-batch must be an integer in \[1, 4096\], got "0"/],
  ['a port that is a word', () => ['serve', '--model', modelDir, '--port', 'http'], 2, /--port must be an integer in \[0, 65535\], got "http"/],
  ['a negative queue', () => ['serve', '--model', modelDir, '--queue', '-1'], 2, /--queue must be an integer ≥ 0, got "-1"/],
  ['a zero body limit', () => ['serve', '--model', modelDir, '--body-limit', '0'], 2, /--body-limit must be an integer ≥ 1, got "0"/],
  ['a fractional grace', () => ['serve', '--model', modelDir, '--grace', '1.5'], 2, /--grace must be an integer ≥ 0, got "1.5"/],
  ['an empty host', () => ['serve', '--model', modelDir, '--host', ''], 2, /--host must not be empty/],
  ['an empty API key', () => ['serve', '--model', modelDir, '--api-key', ''], 2, /--api-key must not be empty/],
  ['an empty API key from the environment', () => ['serve', '--model', modelDir, '--port', '0'], 2, /ONNX_STEER_API_KEY is set but empty/, () => ({ ONNX_STEER_API_KEY: '' })],
  ['a missing vectors directory', () => ['serve', '--model', modelDir, '--vectors', W('nope')], 1, /vectors directory not found: .*nope/],
  ['a vectors "directory" that is a file', () => ['serve', '--model', modelDir, '--vectors', W('afile')], 1, /vectors directory .*afile is not a directory/],
  ['a missing allowed vector directory', () => ['serve', '--model', modelDir, '--allow-vector-paths', W('nope')], 1, /allowed vector directory not found/],
  // export / import / bake / prefs.
  ['import of a file that is not GGUF', () => ['import', W('afile'), '--model', modelDir, '-o', W('imported.json')], 1, /not a GGUF file/],
  ['import without a model', () => ['import', W('afile'), '-o', W('imported.json')], 2, /required option '--model <dir>' not specified/],
  ['import without an output', () => ['import', W('afile'), '--model', modelDir], 2, /import needs -o <vector\.json>/],
  ['export without an output', () => ['export', VECTOR, '--format', 'gguf'], 2, /export needs -o <file\.gguf>/],
  ['export with a word as scale', () => ['export', VECTOR, '--format', 'gguf', '-o', W('joy.gguf'), '--scale', 'abc'], 2, /--scale must be a finite number, got "abc"/],
  ['bake without a strength', () => ['bake', '--model', modelDir, '--vector', VECTOR, '-o', W('baked')], 2, /--vector needs a strength for add and ablate-add/],
  ['bake without an output', () => ['bake', '--model', modelDir, '--vector', `${VECTOR}=2`], 2, /bake needs -o <dir>/],
  ['bake at a site the vector lacks', () => ['bake', '--model', modelDir, '--vector', `${VECTOR}=2`, '--sites', 'blocks.9.hook_resid_post', '-o', W('baked')], 1, /vector "joy" has no direction for blocks\.9\.hook_resid_post/],
  ['bake over an existing output', () => ['bake', '--model', modelDir, '--vector', `${VECTOR}=2`, '-o', W('adir')], 1, /output already exists: .*adir/],
  ['prefs with a negative η', () => ['prefs', '--policy', modelDir, '--pairs', PAIRS, '--eta', '-1'], 2, /--eta must be ≥ 0, got -1/],
  ['prefs without pairs', () => ['prefs', '--policy', modelDir], 2, /--pairs <file\.jsonl> is required/],
  ['prefs against a missing reference', () => ['prefs', '--policy', modelDir, '--pairs', PAIRS, '--reference', W('nope')], 1, /model directory not found: .*nope/],
  ['prefs with a vector but no strength', () => ['prefs', '--policy', modelDir, '--pairs', PAIRS, '--vector', VECTOR], 2, /give a strength for .*joy\.json/],
  // Verifiers and patterns.
  ['an unknown verifier kind', () => ['bon', '--model', modelDir, '--prompt', 'x', '--reward', 'verifier:nonsense:x', '--n', '2', '--max-new-tokens', '2'], 2, /unknown verifier "nonsense" in "verifier:nonsense:x" \(verifiers: regex:<pattern>, .*<module>#<export>\)/],
  ['a bare unknown verifier', () => ['patterns', '--model', modelDir, '--prompts', W('prompts2.jsonl'), '--n', '2', '--verifier', 'nonsense', '--max-new-tokens', '2'], 2, /unknown verifier "nonsense"/],
  ['a verifier module that is not there', () => ['bon', '--model', modelDir, '--prompt', 'x', '--reward', `verifier:${W('nope.mjs')}#f`, '--n', '2', '--max-new-tokens', '2'], 1, /cannot load .*nope\.mjs#f: file not found/],
  ['zero patterns', () => ['patterns', '--prompts', W('prompts2.jsonl'), '--verifier', 'quoted-speech', '--clusters', '0'], 2, /--clusters must be auto or an integer ≥ 1, got "0"/],
  ['patterns in hex', () => ['patterns', '--prompts', W('prompts2.jsonl'), '--verifier', 'quoted-speech', '--clusters', '0x2'], 2, /--clusters must be auto or an integer/],
  ['more patterns than pooled candidates', () => ['patterns', '--prompts', W('prompts2.jsonl'), '--n', '4', '--verifier', 'quoted-speech', '--clusters', '5'], 2, /--clusters 5 is more than the 4 pooled training candidates \(1 training prompts × --n 4\)/],
  ['patterns with a word as strength', () => ['patterns', '--prompts', W('prompts2.jsonl'), '--verifier', 'quoted-speech', '--strengths', '1,strong'], 2, /--strengths entries must be a number in \[-1000000, 1000000\], got "strong"/],
  ['patterns with one sample per prompt', () => ['patterns', '--prompts', W('prompts2.jsonl'), '--verifier', 'quoted-speech', '--n', '1'], 2, /--n must be ≥ 2/],
  // The newest commands, option by option (study, prefs, patterns, export / import, serve, bake).
  ['study without prompts', () => ['study', '--dev-prompts', W('prompts2.jsonl'), '--proxy', 'afinn', '-o', W('study-out')], 2, /--prompts <file\.jsonl> is required/],
  ['study without an output', () => ['study', '--prompts', W('prompts2.jsonl'), '--dev-prompts', W('prompts2.jsonl'), '--proxy', 'afinn'], 2, /-o, --output <dir> is required/],
  ['study with a zero limit', study('--proxy', 'afinn', '--limit', '0'), 2, /--limit must be an integer ≥ 1, got "0"/],
  ['study with a zero dev limit', study('--proxy', 'afinn', '--dev-limit', '0'), 2, /--dev-limit must be an integer ≥ 1, got "0"/],
  ['study with zero KL resamples', study('--proxy', 'afinn', '--kl-resamples', '0'), 2, /--kl-resamples must be an integer ≥ 1, got "0"/],
  ['study with a top-p of 0', study('--proxy', 'afinn', '--top-p', '0'), 2, /--top-p must be a number in \(0, 1\], got "0"/],
  ['study with an unknown gold', studyOn('--proxy', 'afinn', '--gold', 'bogus'), 2, /unknown reward "bogus"/],
  ['study with an unknown proxy', studyOn('--proxy', 'a=bogus'), 2, /unknown reward "bogus"/],
  ['study with an unknown utility', studyOn('--proxy', 'afinn', '--utility', 'bleu'), 2, /unknown utility "bleu"/],
  ['prefs with a zero limit', prefs('--limit', '0'), 2, /--limit must be ≥ 1, got 0/],
  ['prefs with zero threads', prefs('--threads', '0'), 2, /--threads must be ≥ 1/],
  ['prefs with a word as β', prefs('--beta', 'abc'), 2, /--beta must be a finite number, got "abc"/],
  ['prefs with an MRPO ε and one reference', () => prefs('--reference', modelDir, '--epsilon', '0.2')(), 2, /--epsilon is MRPO's clipping, and MRPO needs two --reference models/],
  ['prefs with an empty provider list', prefs('--ep', ''), 2, /--ep must not be empty/],
  ['prefs on a missing pairs file', () => ['prefs', '--policy', modelDir, '--pairs', W('nope.jsonl')], 1, /pairs file not found: .*nope\.jsonl/],
  ['patterns without prompts', () => ['patterns', '--verifier', 'quoted-speech'], 2, /--prompts <file> is required/],
  ['patterns without a verifier', () => ['patterns', '--prompts', W('prompts2.jsonl')], 2, /--verifier <spec> is required/],
  ['patterns with an unknown clustering', () => ['patterns', '--prompts', W('prompts2.jsonl'), '--verifier', 'quoted-speech', '--method', 'dbscan'], 2, /--method must be kmeans or agglomerative, got "dbscan"/],
  ['patterns with an unknown embedding', () => ['patterns', '--prompts', W('prompts2.jsonl'), '--verifier', 'quoted-speech', '--utility', 'bleu'], 2, /--utility must be hidden or minilm, got "bleu"/],
  ['patterns with a negative β', () => ['patterns', '--prompts', W('prompts2.jsonl'), '--verifier', 'quoted-speech', '--beta', '-1'], 2, /--beta must be ≥ 0, got -1/],
  ['patterns over an existing report', () => ['patterns', '--prompts', W('prompts2.jsonl'), '--verifier', 'quoted-speech', '-o', W('patterns-existing')], 1, /output already exists: .*patterns-existing\/report\.json \(pass --force/],
  ['export over an existing file', () => ['export', VECTOR, '--format', 'gguf', '-o', W('existing.json')], 1, /output already exists: .*existing\.json \(pass --force/],
  ['export of a missing vector', () => ['export', W('nope.json'), '--format', 'gguf', '-o', W('nope.gguf')], 1, /vector file not found: .*nope\.json/],
  ['export of an ablation', () => ['export', W('scaled-joy.json'), '--format', 'gguf', '-o', W('abl.gguf'), '--operator', 'ablate'], 1, /llama\.cpp control vectors only add; operator "ablate" cannot be exported/],
  ['export at prompt positions only', () => ['export', W('scaled-joy.json'), '--format', 'gguf', '-o', W('pos.gguf'), '--positions', 'prompt'], 1, /llama\.cpp adds control vectors at every position/],
  ['import over an existing output', () => ['import', W('afile'), '--model', modelDir, '-o', W('existing.json')], 1, /output already exists: .*existing\.json/],
  ['import of a missing file', () => ['import', W('nope.gguf'), '--model', modelDir, '-o', W('imported.json')], 1, /not found: .*nope\.gguf/],
  ['import for a directory that is not a model', () => ['import', W('afile'), '--model', W('adir'), '-o', W('imported.json')], 1, /hooks\.json/],
  ['a zero max-tokens for the server', () => ['serve', '--model', modelDir, '--max-tokens', '0'], 2, /--max-tokens must be an integer ≥ 1, got "0"/],
  ['a zero prefill chunk', () => ['serve', '--model', modelDir, '--prefill-chunk', '0'], 2, /--prefill-chunk must be an integer ≥ 1, got "0"/],
  ['an empty served model name', () => ['serve', '--model', modelDir, '--model-name', ''], 2, /--model-name must not be empty/],
  ['a port already in use', () => ['serve', '--model', modelDir, '--host', '127.0.0.1', '--port', new URL(keyedUrl).port], 1, /cannot listen on 127\.0\.0\.1:\d+: the port is in use/],
  ['bake with an infinite strength', () => ['bake', '--model', modelDir, '--vector', `${VECTOR}=Infinity`, '-o', W('baked')], 2, /=<s> must be a number in/],
  ['bake of a missing vector', () => ['bake', '--model', modelDir, '--vector', `${W('nope.json')}=2`, '-o', W('baked')], 1, /vector file not found: .*nope\.json/],
  ['bake from a missing model', () => ['bake', '--model', W('missing'), '--vector', `${VECTOR}=2`, '-o', W('baked')], 1, /not found: .*missing/],
  ['bake with an empty site list', () => ['bake', '--model', modelDir, '--vector', `${VECTOR}=2`, '--sites', '', '-o', W('baked')], 2, /--sites must not be empty/],
  ['bake ablation with a strength of a word', () => ['bake', '--model', modelDir, '--vector', `${VECTOR}=strong`, '--operator', 'ablate', '-o', W('baked')], 2, /=<s> must be a number/],
  // The global --quiet takes no value.
  ['--quiet with a value', gen('--quiet=yes'), 2, /option '-q, --quiet' does not take an argument|unknown option '--quiet=yes'/],
  // Generation backends.
  ['a backend of unknown kind', bon('--backend', 'vllm:http://127.0.0.1:8000'), 2, /--backend must be local or openai:<base-url>, got "vllm:/],
  ['a backend URL that is not http', bon('--backend', 'openai:ftp://x'), 2, /--backend openai:<base-url> needs an http\(s\) URL/],
  ['a backend model without a server', bon('--backend-model', 'x'), 2, /--backend-model needs --backend openai:<base-url>/],
  ['zero concurrency', bon('--backend', 'openai:http://127.0.0.1:9', '--concurrency', '0'), 2, /--concurrency must be an integer in \[1, 1024\]/],
  ['an unreachable backend', () => bon('--backend', `openai:${deadUrl}`, '--retries', '0')(), 1, /cannot reach the backend at http:\/\/127\.0\.0\.1:\d+\/v1: GET \/v1\/models failed \(ECONNREFUSED\)/],
  ['a wrong API key', () => bon('--backend', `openai:${keyedUrl}`, '--api-key', 'wrong', '--retries', '0')(), 1, /the backend at http:\/\/127\.0\.0\.1:\d+\/v1 refused the API key \(HTTP 401\)/],
  ['a model the server does not list', remote('--backend-model', 'gpt-9'), 1, /does not serve "gpt-9" \(GET \/v1\/models lists tinystories-656k\)/],
  ['a vector the server does not list', remote('--vector', `${W('scaled-joy.json')}=2`), 1, /lists no steering vector matching "joy[^"]*" \(checksum sha256:/],
  ['the hidden utility on a server', remote('--utility', 'hidden'), 1, /needs the model's activations, which openai:http:.* does not return/],
  ['KL-BoN scored on a server without log-probs', () => bon('--method', 'kl-bon', '--beta', '1', '--reference-backend', `openai:${bareUrl}`, '--retries', '0')(), 1, /returns no prompt log-probs .* and kl-bon \(log π_ref\) needs log π\(y \| x\)/],
  ['patterns on an unreachable backend', patterns(() => deadUrl, '--utility', 'minilm', '--strengths', 'none'), 1, /cannot reach the backend at http:\/\/127\.0\.0\.1:\d+\/v1: GET \/v1\/models failed \(ECONNREFUSED\)/],
  ['patterns with a wrong API key', patterns(() => keyedUrl, '--utility', 'minilm', '--strengths', 'none', '--api-key', 'wrong'), 1, /refused the API key \(HTTP 401\)/],
  ['patterns on a model the server does not list', patterns(() => keyedUrl, '--utility', 'minilm', '--strengths', 'none', '--api-key', 'secret', '--backend-model', 'gpt-9'), 1, /does not serve "gpt-9" \(GET \/v1\/models lists tinystories-656k\)/],
  ['patterns with hidden embeddings on a server', patterns(() => keyedUrl, '--strengths', 'none'), 1, /--utility hidden \(the default\) needs the model's activations, which a server does not return: give --utility minilm/],
  ['patterns steering toward a pattern on a server', patterns(() => keyedUrl, '--utility', 'minilm'), 1, /steering toward a pattern extracts a vector from the model's activations, which a server does not return: give --strengths none/],
  ['patterns with a reference backend', patterns(() => keyedUrl, '--utility', 'minilm', '--strengths', 'none', '--reference-backend', 'local'), 2, /patterns reads π_ref from the draws themselves/],
  ['prefs on an unreachable backend', prefsOn(() => deadUrl), 1, /cannot reach the backend at http:\/\/127\.0\.0\.1:\d+\/v1: GET \/v1\/models failed \(ECONNREFUSED\)/],
  ['prefs with a wrong API key', prefsOn(() => keyedUrl, '--api-key', 'wrong'), 1, /refused the API key \(HTTP 401\)/],
  ['prefs on a model the server does not list', prefsOn(() => keyedUrl, '--api-key', 'secret', '--backend-model', 'gpt-9'), 1, /does not serve "gpt-9"/],
  ['prefs scored on a server without log-probs', prefsOn(() => bareUrl), 1, /the backend at http:.* returns no prompt log-probs .* and DPO\/RPO\/MRPO \(log π\(y \| x\) of every response\) needs log π\(y \| x\)/],
  ['prefs with the reference on a server without log-probs', () => prefsSmall('--reference-backend', `openai:${bareUrl}`, '--retries', '0')(), 1, /returns no prompt log-probs/],
  ['prefs with local references and a reference server', () => prefsSmall('--reference', modelDir, '--reference-backend', `openai:${keyedUrl}`)(), 2, /--reference <dir> models are scored locally, and --reference-backend openai:… scores the server's model: give one or the other/],
  ['prefs output that exists', () => prefsSmall('-o', W('prefs-existing'))(), 1, /output already exists: .*prefs-existing\/prefs\.json \(pass --force to overwrite\)/],
];

describe('bad-input catalogue: CLI', () => {
  it(`has at least 60 rows (${CLI.length} CLI + library)`, () => { expect(CLI.length).toBeGreaterThanOrEqual(60); });
  for (const [label, args, code, message, env] of CLI) {
    it(`${code}: ${label}`, async () => {
      const before = listing(work.path);
      const r = await runCli(args(), env?.());
      expect(r.stderr, r.stderr).toMatch(message);
      expect(r.code, r.stderr).toBe(code);
      // Progress lines (`<command>: …`) may come before a runtime error; the error itself is one line.
      const lines = withoutProgress(r.stderr, args()[0] ?? '').trimEnd().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^onnx-steer: /);
      expect(r.stderr).not.toMatch(/unexpected error|\n\s+at |TypeError/);
      expect(listing(work.path)).toEqual(before);
    });
  }
});

type LibCase = [label: string, run: () => unknown, error: new (...a: never[]) => SteeringError, message: RegExp];

const LIB: LibCase[] = [
  ['generate(null)', () => model.generate(null as never), InvalidArgumentError, /input must be a string, an array of token ids or an array of chat messages, got null/],
  ['generate with null options', () => model.generate('x', null as never), InvalidArgumentError, /options must be an object, got null/],
  ['generate with topP 2', () => model.generate('x', { topP: 2 }), InvalidArgumentError, /^topP must be a number in \(0, 1\], got 2$/],
  ['generate with NaN temperature', () => model.generate('x', { temperature: Number.NaN }), InvalidArgumentError, /temperature must be a number ≥ 0, got NaN/],
  ['generate with n = 1e9', () => model.generate('x', { n: 1e9 }), InvalidArgumentError, /n must be an integer in \[1, 4096\]/],
  ['generate from an out-of-vocabulary id', () => model.generate([9999]), InvalidArgumentError, /input\[0\] is not a token id of this model \(an integer in \[0, 2048\)\), got 9999/],
  ['generate with a string as stop', () => model.generate('x', { stop: 'y' as never }), InvalidArgumentError, /stop must be an array of strings/],
  ['score an id beyond the vocabulary', () => model.score('Once', [[5000]]), InvalidArgumentError, /continuation\[0\] is not a token id/],
  ['score a negative id', () => model.score('Once', [[-1]]), InvalidArgumentError, /got -1/],
  ['score without continuations list', () => model.score('Once', 'x' as never), InvalidArgumentError, /continuations must be an array/],
  ['capture at bogus positions', () => model.capture(['x'], ['blocks.0.hook_resid_post'], { positions: 'bogus' as never }), InvalidArgumentError, /positions must be last, all, mean/],
  ['capture at a fractional index', () => model.capture(['x'], ['blocks.0.hook_resid_post'], { positions: { index: 0.5 } }), InvalidArgumentError, /positions\.index must be an integer/],
  ['capture with no sites', () => model.capture(['x'], []), InvalidArgumentError, /at least one site/],
  ['capture with a zero batch', () => model.capture(['x'], ['blocks.0.hook_resid_post'], { batchSize: 0 }), InvalidArgumentError, /batchSize must be an integer in \[1, 4096\]/],
  ['parsePairs(123)', () => parsePairs(123 as never), InvalidArgumentError, /parsePairs\(\) takes JSONL text or bytes, got 123/],
  ['parsePairs of a broken line', () => parsePairs('{oops'), InvalidDataError, /<pairs>:1: not valid JSON/],
  ['a vector from {}', () => SteeringVector.fromJSON({}), CorruptFileError, /not an onnx-steer vector/],
  ['a vector whose data changed', () => SteeringVector.load(W('tampered-vector.json')), CorruptFileError, /checksum mismatch/],
];

describe('bad-input catalogue: library', () => {
  for (const [label, run, error, message] of LIB) {
    it(label, async () => {
      let caught: unknown;
      try { await run(); } catch (err) { caught = err; }
      expect(caught, String(caught)).toBeInstanceOf(error);
      expect((caught as Error).message).toMatch(message);
      expect((caught as Error).message).not.toContain('\n');
    });
  }
});

export const CATALOGUE_SIZE = CLI.length + LIB.length;
