/**
 * Cost of the MBR utility matrix against generating the candidates it
 * compares: N = 64 candidates from one batched generate() call, then
 *
 * - `hidden` utility: the N×N cosine matrix of the candidates' mean-pooled
 *   residuals (what MBR-BoN adds once the activations are there), and the
 *   capture forward pass that pools those activations;
 * - optionally the `minilm` utility (all-MiniLM-L6-v2 embeddings + cosines).
 *
 * Each run times generation, capture and matrix back to back (A B A B over
 * runs, after a warm-up), and the ratios are taken per run.
 */
import { captureResponseActivations } from '../src/embed/response-activations.js';
import { HookedModel } from '../src/model/hooked-model.js';
import { parseUtility } from '../src/utilities/parse.js';
import type { UtilityItem } from '../src/utilities/types.js';
import { summarize, type BenchConfig, type Summary } from './stats.js';

export interface MbrFigures {
  model: string;
  n: number;
  newTokens: number;
  site: string;
  generateMs: Summary;
  /** The N×N hidden-state cosine matrix from pooled activations. */
  hiddenMatrixMs: Summary;
  /** The batched capture that pools the activations (one forward over prompt ⊕ response). */
  captureMs: Summary;
  /** hiddenMatrixMs ÷ generateMs, per run (the acceptance figure: ≤ 0.05). */
  matrixToGenerate: Summary;
  /** (captureMs + hiddenMatrixMs) ÷ generateMs, per run. */
  captureAndMatrixToGenerate: Summary;
  /** MiniLM embeddings + cosine matrix ÷ generateMs, when measured. */
  minilmToGenerate?: Summary;
}

export interface MbrBenchOptions {
  n?: number;
  newTokens?: number;
  prompt?: string;
  threads?: number;
  minilm?: boolean;
}

export async function mbrFigures(label: string, dir: string, cfg: BenchConfig, options: MbrBenchOptions = {}): Promise<MbrFigures> {
  const n = options.n ?? 64;
  const newTokens = options.newTokens ?? 64;
  const prompt = options.prompt ?? 'Once upon a time, there was a little boy named Oliver. ';
  const model = await HookedModel.load(dir, options.threads ? { intraOpNumThreads: options.threads } : {});
  const hidden = parseUtility('hidden', { model });
  const site = hidden.sites[0] as string;
  const minilm = options.minilm ? parseUtility('minilm') : undefined;
  const gen: number[] = []; const mat: number[] = []; const cap: number[] = []; const mini: number[] = [];
  try {
    for (let r = 0; r < cfg.warmup + cfg.runs; r++) {
      let t = performance.now();
      const out = await model.generate(prompt, { n, seed: r, temperature: 1, maxNewTokens: newTokens, stopOnEos: false });
      const g = performance.now() - t;
      t = performance.now();
      const acts = await captureResponseActivations(model, out.rows.map((row) => ({ prompt, ids: row.ids })), [site]);
      const c = performance.now() - t;
      const items: UtilityItem[] = out.rows.map((row, i) => ({ response: row.text, ids: row.ids, activations: acts[i] as Record<string, Float32Array> }));
      t = performance.now();
      await hidden.matrix(items);
      const m = performance.now() - t;
      let e: number | undefined;
      if (minilm) {
        t = performance.now();
        await minilm.matrix(items);
        e = performance.now() - t;
      }
      if (r < cfg.warmup) continue;
      gen.push(g); cap.push(c); mat.push(m);
      if (e !== undefined) mini.push(e);
    }
  } finally {
    await model.dispose();
  }
  const figures: MbrFigures = {
    model: label, n, newTokens, site,
    generateMs: summarize(gen),
    hiddenMatrixMs: summarize(mat),
    captureMs: summarize(cap),
    matrixToGenerate: summarize(mat.map((m, i) => m / (gen[i] as number))),
    captureAndMatrixToGenerate: summarize(mat.map((m, i) => (m + (cap[i] as number)) / (gen[i] as number))),
  };
  if (mini.length > 0) figures.minilmToGenerate = summarize(mini.map((m, i) => m / (gen[i] as number)));
  return figures;
}
