/**
 * A reward kind, as the reward registry sees it: the word before the colon
 * of a spec (`keyword` in `keyword:happy`) and a factory from the text after
 * it to a Reward. See registry.ts.
 */
import type { Reward, RewardContext } from './types.js';

export interface RewardKind {
  /** The spec's head, lower-case words with dashes: `vader`, `keyword`, … */
  name: string;
  /** How to write it, for messages and help: `keyword:<word>`. */
  usage: string;
  description: string;
  /** Whether the spec takes `:<arg>`: never, optionally or always. */
  arg: 'none' | 'optional' | 'required';
  /** What the argument is, for messages: `a word`, `<module>#<export>`. */
  argHint?: string;
  /** Builds the reward; `arg` is the text after the first colon (undefined without one). */
  create(arg: string | undefined, spec: string, ctx: RewardContext): Reward | Promise<Reward>;
  /** Where help and messages list it among the built-ins, lower first; without one it follows them, by file name. */
  order?: number;
}
