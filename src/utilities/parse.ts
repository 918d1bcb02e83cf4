/**
 * Utilities from spec strings: `hidden[:<site>]`, `minilm`, `rouge-l`, `chrf`.
 * `hidden` without a site uses `ctx.site`, else the model's last
 * `hook_resid_post` site.
 */
import { MiniLMEmbedder } from '../embed/minilm.js';
import type { HookedModel } from '../runtime/model.js';
import { hiddenUtility, minilmUtility } from './embedding.js';
import { chrFMatrix, rougeLMatrix, type ChrFOptions } from './lexical.js';
import { UnknownUtilityError } from '../errors.js';
import { settle, type Utility, type UtilityItem } from './types.js';

export interface UtilityContext {
  model?: HookedModel;
  site?: string;
  /** A loaded MiniLM embedder to share; otherwise one is loaded on first use. */
  embedder?: MiniLMEmbedder;
  chrf?: ChrFOptions;
}

function lexical(spec: string, kind: 'rouge-l' | 'chrf', fn: (texts: string[], out?: Float64Array) => Float64Array): Utility {
  return {
    spec, kind, bounds: [0, 1], symmetric: kind === 'rouge-l', sites: [],
    matrix: (items: readonly UtilityItem[], out?: Float64Array) => settle(() => fn(items.map((it) => it.response), out)),
  };
}

function lastResidPost(model: HookedModel | undefined): string | undefined {
  const posts = (model?.sites ?? []).filter((s) => s.endsWith('hook_resid_post'));
  return posts[posts.length - 1];
}

export function parseUtility(spec: string, ctx: UtilityContext = {}): Utility {
  const text = spec.trim();
  const colon = text.indexOf(':');
  const kind = (colon >= 0 ? text.slice(0, colon) : text).toLowerCase();
  const arg = colon >= 0 ? text.slice(colon + 1) : undefined;
  if (kind !== 'hidden' && arg !== undefined) throw new UnknownUtilityError(text, `utility "${kind}" takes no argument (got "${text}")`);
  switch (kind) {
    case 'hidden': {
      const site = arg || ctx.site || lastResidPost(ctx.model);
      if (!site) throw new UnknownUtilityError(text, 'utility "hidden" needs a site: hidden:<site>, or a model in the context');
      if (ctx.model && !ctx.model.sites.includes(site)) {
        throw new UnknownUtilityError(text, `hook site "${site}" is not in the model (sites: ${ctx.model.sites.join(', ')})`);
      }
      return hiddenUtility(site, text);
    }
    case 'minilm':
      return minilmUtility(ctx.embedder ?? (() => MiniLMEmbedder.load()), text);
    case 'rouge-l':
    case 'rougel':
      return lexical(text, 'rouge-l', (t, out) => rougeLMatrix(t, out));
    case 'chrf':
      return lexical(text, 'chrf', (t, out) => chrFMatrix(t, ctx.chrf, out));
    default:
      throw new UnknownUtilityError(text, `unknown utility "${text}"`);
  }
}
