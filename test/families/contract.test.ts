/**
 * The family contract: every architecture adapter, built from its Hugging
 * Face checkpoint (model.safetensors + config.json) and, where a torch export
 * exists, instrumented, matches transformers' residual stream and logits
 * (expected.json) within 1e-4, and a cached decode step equals the prefill. One row per adapter; a new adapter without a
 * row fails the first test.
 *
 * Families without a transformers fixture here are checked as honestly as
 * the shared data allows, and the row says how:
 * - GPTNeoXForCausalLM: the Phi fixture's weights transcribed into NeoX's
 *   layout (per-head packed query_key_value, both norms = Phi's shared norm,
 *   hidden_act gelu_new, rotary_pct = Phi's partial factor). The two
 *   architectures then compute the same function, except that NeoX's head
 *   has no bias, so the reference logits are Phi's minus lm_head.bias.
 * - GemmaForCausalLM: no numeric reference. Its ingredients (√hidden
 *   embedding scale, (1 + w) RMSNorm, GeGLU) are checked by the Gemma2 row;
 *   its own row checks a random-init build for cache consistency only.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel, type AttentionKind } from '../../src/builder/index.js';
import { ADAPTERS } from '../../src/families/index.js';
import { instrumentModel } from '../../src/instrument/index.js';
import { ModelRunner } from '../../src/runtime/runner.js';
import { cleanupTempDirs, f32Tensor, readF32Safetensors, sharedDir, tempDir, tinyStoriesDir, writeSafetensors } from '../builder/helpers.js';

afterAll(cleanupTempDirs);

interface Reference {
  ids: number[];
  /** Residual entering block 0, then each block's output (before the final norm), flattened [seq·hidden]. */
  residuals: number[][];
  /** Logits at every position [seq·vocab], or only the last position when `lastOnly`. */
  logits: number[];
  lastOnly?: boolean;
}

interface Row {
  architecture: string;
  /** Checkpoint directory to build (a function when the test writes it). */
  checkpoint: () => string;
  /** Torch export to instrument, if there is one. */
  export?: string;
  /** Transformers reference, or undefined when none exists (see the header). */
  reference?: () => Reference;
  /** Whether attention=gqa applies (head size a multiple of 8). */
  gqa: boolean;
}

const fixture = (arch: string): string => join(sharedDir, `fixtures/onnx/torch-tiny-random-${arch}`);

interface Expected { input: { input_ids: number[][] }; logits: number[][][]; residual_stream: { values: number[][][] } }

function expectedJson(dir: string): Reference {
  const e = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
  return { ids: e.input.input_ids[0] ?? [], residuals: e.residual_stream.values.map((v) => v.flat()), logits: e.logits.flat(2) };
}

/** tinystories-656k against transformers (hidden[last] there is after the final norm, so the raw residual is used). */
function tinyStoriesReference(): Reference {
  const path = join(sharedDir, 'fixtures/reference/tinystories-656k.transformers-reference.json');
  const r = JSON.parse(readFileSync(path, 'utf8')) as { sequences: { ids: number[]; hidden: number[][]; hidden_last_block_prenorm: number[]; logits_last: number[] }[] };
  const s = r.sequences[0];
  if (!s) throw new Error(`no sequences in ${path}`);
  const hidden = s.hidden.map((h) => h.flat());
  return { ids: s.ids, residuals: [...hidden.slice(0, -1), s.hidden_last_block_prenorm.flat()], logits: s.logits_last, lastOnly: true };
}

/** The Phi fixture rewritten as a GPT-NeoX checkpoint (see the header). */
function neoxFromPhi(): string {
  const phiDir = fixture('PhiForCausalLM');
  const phiCfg = JSON.parse(readFileSync(join(phiDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const w = new Map(readF32Safetensors(join(phiDir, 'model.safetensors')).map((t) => [t.name, t]));
  const get = (n: string) => { const t = w.get(n); if (!t) throw new Error(`Phi fixture lacks ${n}`); return t; };
  const H = Number(phiCfg.hidden_size); const nH = Number(phiCfg.num_attention_heads); const hd = H / nH; const L = Number(phiCfg.num_hidden_layers);
  const out = [f32Tensor('gpt_neox.embed_in.weight', get('model.embed_tokens.weight').shape, get('model.embed_tokens.weight').values)];
  const copy = (to: string, from: string) => { const t = get(from); out.push(f32Tensor(to, t.shape, t.values)); };
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`; const q = `gpt_neox.layers.${i}`;
    for (const ln of ['input_layernorm', 'post_attention_layernorm']) { copy(`${q}.${ln}.weight`, `${p}.input_layernorm.weight`); copy(`${q}.${ln}.bias`, `${p}.input_layernorm.bias`); }
    const qkv = new Float32Array(3 * H * H); const qkvB = new Float32Array(3 * H);
    ['q_proj', 'k_proj', 'v_proj'].forEach((m, j) => {
      const wt = get(`${p}.self_attn.${m}.weight`).values; const bs = get(`${p}.self_attn.${m}.bias`).values;
      for (let h = 0; h < nH; h++) {
        qkv.set(wt.subarray(h * hd * H, (h + 1) * hd * H), (h * 3 + j) * hd * H);
        qkvB.set(bs.subarray(h * hd, (h + 1) * hd), (h * 3 + j) * hd);
      }
    });
    out.push(f32Tensor(`${q}.attention.query_key_value.weight`, [3 * H, H], qkv), f32Tensor(`${q}.attention.query_key_value.bias`, [3 * H], qkvB));
    copy(`${q}.attention.dense.weight`, `${p}.self_attn.dense.weight`); copy(`${q}.attention.dense.bias`, `${p}.self_attn.dense.bias`);
    copy(`${q}.mlp.dense_h_to_4h.weight`, `${p}.mlp.fc1.weight`); copy(`${q}.mlp.dense_h_to_4h.bias`, `${p}.mlp.fc1.bias`);
    copy(`${q}.mlp.dense_4h_to_h.weight`, `${p}.mlp.fc2.weight`); copy(`${q}.mlp.dense_4h_to_h.bias`, `${p}.mlp.fc2.bias`);
  }
  copy('gpt_neox.final_layer_norm.weight', 'model.final_layernorm.weight'); copy('gpt_neox.final_layer_norm.bias', 'model.final_layernorm.bias');
  copy('embed_out.weight', 'lm_head.weight');
  const dir = join(tempDir('neox'), 'ckpt');
  mkdirSync(dir);
  writeSafetensors(join(dir, 'model.safetensors'), out);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    architectures: ['GPTNeoXForCausalLM'], model_type: 'gpt_neox', hidden_size: H, num_attention_heads: nH, num_hidden_layers: L,
    intermediate_size: phiCfg.intermediate_size, vocab_size: phiCfg.vocab_size, max_position_embeddings: phiCfg.max_position_embeddings,
    layer_norm_eps: phiCfg.layer_norm_eps, hidden_act: 'gelu_new', rotary_pct: phiCfg.partial_rotary_factor, rotary_emb_base: 10000,
    use_parallel_residual: true, attention_bias: true, tie_word_embeddings: false,
  }));
  return dir;
}

function neoxReference(): Reference {
  const phi = expectedJson(fixture('PhiForCausalLM'));
  const bias = readF32Safetensors(join(fixture('PhiForCausalLM'), 'model.safetensors')).find((t) => t.name === 'lm_head.bias')?.values;
  if (!bias) throw new Error('Phi fixture lacks lm_head.bias');
  return { ...phi, logits: phi.logits.map((x, i) => x - (bias[i % bias.length] as number)) };
}

/** A tiny Gemma config for a random-init build (no reference numbers exist). */
function gemmaConfig(): string {
  const dir = join(tempDir('gemma'), 'ckpt');
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    architectures: ['GemmaForCausalLM'], model_type: 'gemma', hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8,
    num_hidden_layers: 2, intermediate_size: 64, vocab_size: 512, max_position_embeddings: 128, rms_norm_eps: 1e-6,
    hidden_activation: 'gelu_pytorch_tanh', tie_word_embeddings: true, initializer_range: 0.2,
  }));
  return join(dir, 'config.json');
}

const torch = (arch: string): Row => ({ architecture: arch, checkpoint: () => fixture(arch), export: fixture(arch), reference: () => expectedJson(fixture(arch)), gqa: true });

const ROWS: readonly Row[] = [
  { architecture: 'LlamaForCausalLM', checkpoint: () => tinyStoriesDir, export: join(sharedDir, 'fixtures/onnx/torch-legacy-tinystories-656k'), reference: tinyStoriesReference, gqa: true },
  torch('MistralForCausalLM'),
  torch('Qwen2ForCausalLM'),
  torch('Phi3ForCausalLM'),
  { ...torch('GPT2LMHeadModel'), architecture: 'GPT2LMHeadModel', checkpoint: () => join(sharedDir, 'fixtures/onnx/torch-tiny-random-GPT2LMHeadModel') },
  torch('Qwen3ForCausalLM'),
  { architecture: 'GemmaForCausalLM', checkpoint: gemmaConfig, gqa: true },
  torch('Gemma2ForCausalLM'),
  torch('GPTJForCausalLM'),
  torch('PhiForCausalLM'),
  { architecture: 'GPTNeoXForCausalLM', checkpoint: neoxFromPhi, reference: neoxReference, gqa: true },
];


/** Largest absolute difference. */
function maxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs((a[i] as number) - (b[i] as number)));
  return e;
}

/** Logits: absolute. Residuals: absolute, relative to max(1, max |residual|) (tinystories' residual stream reaches ~30). */
const TOLERANCE = 1e-4;

function scaleOf(values: readonly number[][]): number {
  let m = 1;
  for (const v of values) for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

async function compare(dir: string, ref: Reference): Promise<{ residual: number; logits: number }> {
  const runner = await ModelRunner.open(dir, { intraOpNumThreads: 1 });
  try {
    const blocks = runner.manifest.numBlocks;
    const sites = ['blocks.0.hook_resid_pre', ...Array.from({ length: blocks }, (_, b) => `blocks.${b}.hook_resid_post`)];
    expect(ref.residuals).toHaveLength(sites.length);
    const out = await runner.forward({ ids: ref.ids, batch: 1, seqLen: ref.ids.length, cache: runner.emptyCache(1), captures: sites });
    let residual = 0;
    sites.forEach((s, i) => { residual = Math.max(residual, maxErr(out.captures[s]?.data ?? [], ref.residuals[i] ?? [])); });
    residual /= scaleOf(ref.residuals);
    const logits = out.logits?.data ?? new Float32Array();
    const V = logits.length / ref.ids.length;
    // The KV cache: the last position decoded as a cached step equals the full prefill's last row.
    const head = await runner.forward({ ids: ref.ids.slice(0, -1), batch: 1, seqLen: ref.ids.length - 1, cache: runner.emptyCache(1) });
    const step = await runner.forward({ ids: ref.ids.slice(-1), batch: 1, seqLen: 1, cache: head.cache });
    expect(maxErr(step.logits?.data ?? [], logits.subarray(logits.length - V))).toBeLessThanOrEqual(TOLERANCE);
    return { residual, logits: maxErr(ref.lastOnly ? logits.subarray(logits.length - V) : logits, ref.logits) };
  } finally {
    await runner.release();
  }
}

/** With FAMILY_ERRORS=1 the measured errors are printed (the figures in the README's family table). */
function report(label: string, err: { residual: number; logits: number }): void {
  if (process.env.FAMILY_ERRORS) console.log(`${label}: residual ${err.residual.toExponential(2)} logits ${err.logits.toExponential(2)}`);
}

describe('family contract', () => {
  it('has a row for every adapter', () => {
    expect(ROWS.map((r) => r.architecture).sort()).toEqual(ADAPTERS.flatMap((a) => a.architectures).sort());
  });

  for (const row of ROWS) {
    describe(row.architecture, () => {
      const variants: AttentionKind[] = row.gqa ? ['standard', 'gqa'] : ['standard'];
      if (row.reference) {
        const reference = row.reference;
        it.each(variants)('built from safetensors (attention=%s) matches transformers within 1e-4', async (attention) => {
          const out = join(tempDir('family'), 'model');
          const manifest = await buildModel(row.checkpoint(), out, { attention });
          expect(manifest.architecture).toBe(row.architecture);
          const err = await compare(out, reference());
          report(`${row.architecture} build attention=${attention}`, err);
          expect(err.residual).toBeLessThanOrEqual(TOLERANCE);
          expect(err.logits).toBeLessThanOrEqual(TOLERANCE);
        });
      } else {
        it.each(variants)('random-init build (attention=%s): a cached decode step equals the prefill (no reference exists)', async (attention) => {
          const out = join(tempDir('family'), 'model');
          await buildModel(row.checkpoint(), out, { attention, randomInit: { seed: 3 } });
          const runner = await ModelRunner.open(out, { intraOpNumThreads: 1 });
          try {
            const ids = [1, 7, 42, 9, 300];
            const full = await runner.forward({ ids, batch: 1, seqLen: ids.length, cache: runner.emptyCache(1) });
            const head = await runner.forward({ ids: ids.slice(0, -1), batch: 1, seqLen: ids.length - 1, cache: runner.emptyCache(1) });
            const step = await runner.forward({ ids: ids.slice(-1), batch: 1, seqLen: 1, cache: head.cache });
            const V = (full.logits?.data.length ?? 0) / ids.length;
            const last = full.logits?.data.subarray((ids.length - 1) * V) ?? new Float32Array();
            expect(maxErr(step.logits?.data ?? [], last)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.max(...last.map(Math.abs))));
            expect(Math.max(...last.map(Math.abs))).toBeGreaterThan(0);
          } finally {
            await runner.release();
          }
        });
      }
      if (row.export && row.reference) {
        const reference = row.reference;
        const source = row.export;
        it('instrumented torch export matches transformers within 1e-4', async () => {
          const out = join(tempDir('family-inst'), 'hooked');
          await instrumentModel(source, out);
          const err = await compare(out, reference());
          report(`${row.architecture} instrumented export`, err);
          expect(err.residual).toBeLessThanOrEqual(TOLERANCE);
          expect(err.logits).toBeLessThanOrEqual(TOLERANCE);
        });
      }
    });
  }
});

describe('parallel-residual sites', () => {
  it('have no hook_resid_mid, and asking for one is an error', async () => {
    const out = join(tempDir('family-sites'), 'model');
    const manifest = await buildModel(fixture('GPTJForCausalLM'), out);
    expect(manifest.sites.map((s) => s.name)).toEqual(['blocks.0.hook_resid_pre', 'blocks.0.hook_resid_post', 'blocks.1.hook_resid_pre', 'blocks.1.hook_resid_post']);
    await expect(buildModel(fixture('GPTJForCausalLM'), join(tempDir('family-sites'), 'mid'), { sites: ['hook_resid_mid'] })).rejects.toThrow(/no hook_resid_mid sites/);
    await expect(buildModel(fixture('GPTJForCausalLM'), join(tempDir('family-sites'), 'mid1'), { sites: ['blocks.0.hook_resid_mid'] })).rejects.toThrow(/unknown hook site/);
  });
});
