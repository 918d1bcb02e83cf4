/**
 * Embedding utilities, both cosines in [−1, 1]:
 *
 * - `hidden:<site>`: cosine of the policy's hidden states at a hook site,
 *   mean-pooled over the response tokens (read from `item.activations`;
 *   see captureResponseActivations). Costs one normalisation pass and one
 *   Gram matrix: O(N·H + N²·H/2) flops.
 * - `minilm`: cosine of mean-pooled, L2-normalised all-MiniLM-L6-v2
 *   embeddings of the response texts (the MBR-BoN paper's utility).
 */
import { MiniLMEmbedder } from '../../embed/minilm.js';
import { InvalidArgumentError, UnknownUtilityError } from '../../errors.js';
import type { HookedModel } from '../../model/hooked-model.js';
import { cosineMatrix } from '../cosine.js';
import type { UtilityKind } from '../spec.js';
import { settle, type Utility, type UtilityItem } from '../types.js';

export function hiddenUtility(site: string, spec = `hidden:${site}`): Utility {
  return {
    spec,
    kind: 'hidden',
    bounds: [-1, 1],
    symmetric: true,
    sites: [site],
    matrix: (items: readonly UtilityItem[], out?: Float64Array) => settle(() => {
      const vectors = items.map((it, i) => {
        const v = it.activations?.[site];
        if (!v) throw new InvalidArgumentError(`${spec}: candidate ${i} has no activations at ${site} (capture them with captureResponseActivations)`);
        return v;
      });
      return cosineMatrix(vectors, out);
    }),
  };
}

/** `embedder` may be a loaded MiniLMEmbedder or a function that loads one (called once, on first use). */
export function minilmUtility(embedder: MiniLMEmbedder | (() => Promise<MiniLMEmbedder>), spec = 'minilm'): Utility {
  let ready: Promise<MiniLMEmbedder> | undefined = typeof embedder === 'function' ? undefined : Promise.resolve(embedder);
  return {
    spec,
    kind: 'minilm',
    bounds: [-1, 1],
    symmetric: true,
    sites: [],
    matrix: async (items: readonly UtilityItem[], out?: Float64Array) => {
      ready ??= typeof embedder === 'function' ? embedder() : Promise.resolve(embedder);
      const batch = await (await ready).embed(items.map((it) => it.response));
      return cosineMatrix(batch, out);
    },
  };
}

function lastResidPost(model: HookedModel | undefined): string | undefined {
  const posts = (model?.sites ?? []).filter((s) => s.endsWith('hook_resid_post'));
  return posts[posts.length - 1];
}

/** `hidden` without a site uses `ctx.site`, else the model's last `hook_resid_post` site. */
export const hiddenKind: UtilityKind = {
  order: 1, name: 'hidden', usage: 'hidden[:<site>]', description: "cosine of the policy's pooled hidden states at a hook site", takesArg: true,
  create: (arg, spec, ctx) => {
    const site = arg || ctx.site || lastResidPost(ctx.model);
    if (!site) throw new UnknownUtilityError(spec, 'utility "hidden" needs a site: hidden:<site>, or a model in the context');
    if (ctx.model && !ctx.model.sites.includes(site)) {
      throw new UnknownUtilityError(spec, `hook site "${site}" is not in the model (sites: ${ctx.model.sites.join(', ')})`);
    }
    return hiddenUtility(site, spec);
  },
};

export const minilmKind: UtilityKind = {
  order: 2, name: 'minilm', usage: 'minilm', description: 'cosine of all-MiniLM-L6-v2 sentence embeddings (the MBR-BoN paper)', takesArg: false,
  create: (_arg, spec, ctx) => minilmUtility(ctx.embedder ?? (() => MiniLMEmbedder.load()), spec),
};

export default [hiddenKind, minilmKind] as const;
