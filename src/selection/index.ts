/** Best-of-N selection, β calibration and the statistics of BoN / A/B runs. */
export {
  bon, mbr, mbrBon, klBon, softKl, lengthBon, argmax, meanUtility, softKlProbabilities, getSelector,
  SELECTORS, SELECTOR_NAMES, type Selector, type SelectorName, type SelectionInput, type Selection,
} from './selectors.js';
export { calibrateBeta, DEFAULT_BETA_GRID, type CalibrationPrompt, type CalibrationRow, type CalibrationResult } from './calibrate.js';
export { meanCI, winRate, distinctN, perplexity, klMonteCarlo, bonKlBound, type Interval, type WinRate, type KlEstimate, type BootstrapOptions } from './stats.js';
