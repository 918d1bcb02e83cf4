/**
 * onnx-steer against transformers.js on the same unhooked graph file:
 * greedy decoding at batch 1 from the same prompt ids, A B A B. The greedy
 * ids must be identical, which checks both implementations against each
 * other.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '../src/generation/generate.js';
import { readManifest } from '../src/hooks/manifest.js';
import { readModel, writeModel } from '../src/onnx/io.js';
import { ModelRunner } from '../src/runtime/runner.js';
import { alternate, summarize, type BenchConfig, type Summary } from './stats.js';
import { idsOnly } from './models.js';

export interface TransformersJsComparison {
  model: string;
  newTokens: number;
  oursTokensPerSec: Summary;
  theirsTokensPerSec: Summary;
  /** ours ÷ theirs tokens/s, per A/B pair (target ≥ 1.1). */
  ratio: Summary;
  idsIdentical: boolean;
  firstMismatch?: { position: number; ours: number; theirs: number };
}

/**
 * Lays out a transformers.js model folder (config.json, onnx/model.onnx with
 * inline weights) from an unhooked build, and points a manifest at the same
 * graph file so both libraries load identical bytes.
 */
export function prepareSharedLayout(plainDir: string, outDir: string): string {
  if (existsSync(join(outDir, 'hooks.json'))) return outDir;
  mkdirSync(join(outDir, 'onnx'), { recursive: true });
  const src = readModel(join(plainDir, 'model.onnx'));
  writeModel(src.model, join(outDir, 'onnx', 'model.onnx'), { sourceDir: src.dir, externalData: 'never' });
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    if (existsSync(join(plainDir, f))) copyFileSync(join(plainDir, f), join(outDir, f));
  }
  const manifest = readManifest(plainDir);
  writeFileSync(join(outDir, 'hooks.json'), `${JSON.stringify({ ...manifest, model: 'onnx/model.onnx' }, null, 2)}\n`);
  return outDir;
}

export async function compareTransformersJs(label: string, sharedDir: string, newTokens: number, cfg: BenchConfig, threads?: number): Promise<TransformersJsComparison> {
  const tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = join(sharedDir, '..');
  const name = sharedDir.split('/').filter(Boolean).at(-1) ?? '';
  const sessionOptions = threads ? { intraOpNumThreads: threads } : {};
  const theirs = await tjs.AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32', device: 'cpu', session_options: sessionOptions });
  const ours = await ModelRunner.open(sharedDir, threads ? { intraOpNumThreads: threads } : {});
  const prompt = [1, 80, 147, 201, 282, 57];
  let oursIds: number[] = [];
  let theirsIds: number[] = [];
  const runOurs = async () => {
    const r = await generate(ours, idsOnly, prompt, { temperature: 0, maxNewTokens: newTokens, stopOnEos: false });
    oursIds = r.rows[0]?.ids ?? [];
  };
  const runTheirs = async () => {
    const input = new tjs.Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]);
    const out = (await theirs.generate({ input_ids: input, attention_mask: new tjs.Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]), max_new_tokens: newTokens, min_new_tokens: newTokens, do_sample: false, eos_token_id: [] })) as { data: BigInt64Array };
    theirsIds = Array.from(out.data, Number).slice(prompt.length);
  };
  const { a, b, ratio } = await alternate(runOurs, runTheirs, cfg);
  await ours.release();
  await theirs.dispose();
  const mismatch = oursIds.findIndex((id, i) => id !== theirsIds[i]);
  return {
    model: label,
    newTokens,
    oursTokensPerSec: summarize(a.map((ms) => (newTokens / ms) * 1000)),
    theirsTokensPerSec: summarize(b.map((ms) => (newTokens / ms) * 1000)),
    ratio: summarize(ratio.map((r) => 1 / r)),
    idsIdentical: mismatch < 0 && oursIds.length === theirsIds.length,
    ...(mismatch >= 0 ? { firstMismatch: { position: mismatch, ours: oursIds[mismatch] ?? -1, theirs: theirsIds[mismatch] ?? -1 } } : {}),
  };
}
