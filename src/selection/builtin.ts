/**
 * The built-in selectors, in the order the CLI lists them. A new selector is
 * a file exporting a SelectorSpec and one entry here.
 */
import { needs, type SelectorSpec } from './spec.js';
import { bon, klBon, lengthBon, mbr, mbrBon, softKl } from './selectors.js';
import { bonKlBound } from './stats.js';

export const BUILTIN_SELECTORS: readonly SelectorSpec[] = [
  {
    name: 'bon', description: 'argmax R (Best-of-N)', needs: needs('rewards'), select: bon,
    klBound: (n) => ({ value: bonKlBound(n), formula: 'log N − (N−1)/N' }),
  },
  { name: 'mbr', description: 'argmax ū, the mean utility (MBR decoding)', needs: needs('utility'), select: mbr },
  { name: 'mbr-bon', description: 'argmax R + β·ū (MBR-BoN, Jinnai et al. 2024)', needs: needs('rewards', 'utility', 'beta'), select: mbrBon },
  { name: 'kl-bon', description: 'argmax R + β·log π_ref (KL-BoN)', needs: needs('rewards', 'logprobs', 'beta'), select: klBon },
  { name: 'soft-kl', description: 'samples P(i) ∝ exp(R/β) (the KL-regularised optimum by resampling)', needs: needs('rewards', 'beta', 'rng'), select: softKl },
  { name: 'length-bon', description: 'argmax R − β·|y| (length-regularised BoN)', needs: needs('rewards', 'lengths', 'beta'), select: lengthBon },
];
