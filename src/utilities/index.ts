/** Utilities u(y, y') for MBR and MBR-BoN, and their N×N matrices. */
export { parseUtility } from './parse.js';
export { registerUtility, utilityKind, utilityKinds, utilityUsages } from './registry.js';
export type { UtilityContext, UtilityKind } from './spec.js';
export { BUILTIN_UTILITIES } from './builtin.generated.js';
export type { Utility, UtilityItem } from './types.js';
export { hiddenUtility, minilmUtility } from './kinds/embedding.js';
export { cosine, cosineMatrix, unitRows, type VectorSet } from './cosine.js';
export { rougeL, rougeLMatrix, chrF, chrFMatrix, words, type ChrFOptions } from './kinds/lexical.js';
