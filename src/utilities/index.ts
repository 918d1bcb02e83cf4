/** Utilities u(y, y') for MBR and MBR-BoN, and their N×N matrices. */
export { parseUtility, type UtilityContext } from './parse.js';
export type { Utility, UtilityItem } from './types.js';
export { hiddenUtility, minilmUtility } from './embedding.js';
export { cosine, cosineMatrix, unitRows, type VectorSet } from './cosine.js';
export { rougeL, rougeLMatrix, chrF, chrFMatrix, words, type ChrFOptions } from './lexical.js';
