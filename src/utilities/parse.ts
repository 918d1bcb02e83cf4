/**
 * Utilities from spec strings `<kind>[:<arg>]`, the kind (case-insensitive)
 * looked up in the utility registry (registry.ts). Built in:
 * `hidden[:<site>]`, `minilm`, `rouge-l`, `chrf`.
 */
import { UnknownUtilityError } from '../errors.js';
import { utilityKind, utilityUsages } from './registry.js';
import type { UtilityContext } from './spec.js';
import type { Utility } from './types.js';

export type { UtilityContext } from './spec.js';

export function parseUtility(spec: string, ctx: UtilityContext = {}): Utility {
  const text = spec.trim();
  const colon = text.indexOf(':');
  const head = (colon >= 0 ? text.slice(0, colon) : text).toLowerCase();
  const arg = colon >= 0 ? text.slice(colon + 1) : undefined;
  const kind = utilityKind(head);
  if (kind && !kind.takesArg && arg !== undefined) throw new UnknownUtilityError(text, `utility "${head}" takes no argument (got "${text}")`, utilityUsages());
  if (!kind) throw new UnknownUtilityError(text, `unknown utility "${text}"`, utilityUsages());
  return kind.create(arg, text, ctx);
}
