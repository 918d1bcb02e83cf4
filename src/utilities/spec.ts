/**
 * A utility kind, as the utility registry sees it: the head of a spec
 * (`hidden` in `hidden:blocks.1.hook_resid_post`) and a factory from the
 * text after the colon to a Utility. See registry.ts.
 */
import type { MiniLMEmbedder } from '../embed/minilm.js';
import type { HookedModel } from '../model/hooked-model.js';
import type { ChrFOptions } from './kinds/lexical.js';
import type { Utility } from './types.js';

export interface UtilityContext {
  model?: HookedModel;
  site?: string;
  /** A loaded MiniLM embedder to share; otherwise one is loaded on first use. */
  embedder?: MiniLMEmbedder;
  chrf?: ChrFOptions;
}

export interface UtilityKind {
  /** The spec's head, lower-case: `hidden`, `minilm`, `rouge-l`, `chrf`. */
  name: string;
  /** Other heads accepted for it (`rougel`). */
  aliases?: readonly string[];
  /** How to write it, for messages and help: `hidden[:<site>]`. */
  usage: string;
  description: string;
  /** Whether the spec may take `:<arg>`. */
  takesArg: boolean;
  create(arg: string | undefined, spec: string, ctx: UtilityContext): Utility;
  /** Where help and messages list it among the built-ins, lower first; without one it follows them, by file name. */
  order?: number;
}
