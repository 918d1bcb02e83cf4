/**
 * The built-in MBR utilities, in the order help and messages list them. A new
 * utility is a file exporting a UtilityKind (see spec.ts) and one entry here.
 */
import { hiddenKind, minilmKind } from './embedding.js';
import { chrFKind, rougeLKind } from './lexical.js';
import type { UtilityKind } from './spec.js';

export const BUILTIN_UTILITIES: readonly UtilityKind[] = [hiddenKind, minilmKind, rougeLKind, chrFKind];
