/**
 * Rewriting an analysed decoder graph: hook sites on the residual stream,
 * with fused ops opened up where a steered residual must reach their norm.
 *
 * Sites on the same tensor are stacked in stream order: block b's
 * `hook_resid_pre` reads what block b−1's `hook_resid_post` let through.
 */
import { InvalidArgumentError } from '../errors.js';
import type { GraphEditor } from '../onnx/graph.js';
import { insertHookSite } from '../hooks/insert.js';
import { parseSiteName, siteName } from '../hooks/sites.js';
import type { HookSiteInfo } from '../hooks/manifest.js';
import type { Analysis } from './analyze.js';
import type { ResidualAdd } from './detect.js';
import { decomposeSkipNorm, renormalizeEmbedding } from './fused.js';

/** The tensor carrying a chain add's sum, opening up a fused node when needed. */
function exposeSum(editor: GraphEditor, r: ResidualAdd, cache: Map<ResidualAdd, string>): string {
  const known = cache.get(r);
  if (known) return known;
  const sum = r.kind === 'add' ? r.sum : decomposeSkipNorm(editor, r.node);
  cache.set(r, sum);
  return sum;
}

/** Inserts the selected hook sites; returns them in stream order. */
export function applyHooks(editor: GraphEditor, analysis: Analysis, sites: readonly string[], normPreserving = false): HookSiteInfo[] {
  const { chain, hiddenSize, dtype, numBlocks } = analysis;
  const wanted = new Set(sites);
  for (const s of sites) if (!parseSiteName(s)) throw new InvalidArgumentError(`not a residual site name: ${s}`);
  const exposed = new Map<ResidualAdd, string>();
  const result: HookSiteInfo[] = [];

  const hook = (tensor: string, source: string, block: number, kind: 'hook_resid_pre' | 'hook_resid_mid' | 'hook_resid_post'): string => {
    const name = siteName(block, kind);
    if (!wanted.has(name)) return tensor;
    const info = insertHookSite(editor, tensor, name, { hiddenSize, dtype, block, normPreserving });
    result.push({ ...info, sourceTensor: source });
    return info.capture;
  };

  // Block 0's input: the embedding (EmbedLayerNormalization output 2 when fused).
  const start = chain.start;
  let stream = hook(start, start, 0, 'hook_resid_pre');
  if (analysis.embedNode && stream !== start) renormalizeEmbedding(editor, analysis.embedNode, stream);

  const parallel = analysis.residual === 'parallel';
  for (let b = 0; b < numBlocks; b++) {
    // Parallel blocks have one residual add (x + (attn + mlp)) and no mid site.
    const mid = parallel ? undefined : chain.adds[2 * b];
    const post = (parallel ? chain.adds[b] : chain.adds[2 * b + 1]) as ResidualAdd;
    const needMid = wanted.has(siteName(b, 'hook_resid_mid'));
    const needPost = wanted.has(siteName(b, 'hook_resid_post')) || wanted.has(siteName(b + 1, 'hook_resid_pre'));
    if (needMid && mid) {
      const sum = exposeSum(editor, mid, exposed);
      hook(sum, sum, b, 'hook_resid_mid');
    }
    if (needPost) {
      const sum = exposeSum(editor, post, exposed);
      stream = hook(sum, sum, b, 'hook_resid_post');
      if (b + 1 < numBlocks) hook(stream, sum, b + 1, 'hook_resid_pre');
    }
  }
  editor.topologicalSort();
  return result;
}
