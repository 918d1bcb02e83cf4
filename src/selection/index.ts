/** Best-of-N selection, β calibration and the statistics of BoN / A/B runs. */
export {
  bon, mbr, mbrBon, klBon, softKl, lengthBon, meanUtility, softKlProbabilities,
  type Selector, type SelectorName, type SelectionInput, type Selection,
} from './selectors.js';
export { registerSelector, selectorSpec, selectorNames, hasSelector, getSelector, selectorKlBound } from './registry.js';
export { needs, type SelectorSpec, type SelectorNeeds, type KlBound } from './spec.js';
export { BUILTIN_SELECTORS } from './builtin.generated.js';
export { calibrateBeta, DEFAULT_BETA_GRID, type CalibrationPrompt, type CalibrationRow, type CalibrationResult } from './calibrate.js';
export { meanCI, winRate, distinctN, perplexity, klMonteCarlo, bonKlBound, type Interval, type WinRate, type KlEstimate, type BootstrapOptions } from './stats.js';
