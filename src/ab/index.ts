/** A/B comparisons of steering, Best-of-N and MBR-BoN, and single-prompt Best-of-N. */
export { runAB, validateABOptions, type ABOptions, type ABResult, type ArmSelection, type ProgressEvent, type Steerer } from './harness.js';
export { runBestOfN, type BestOfNOptions, type BestOfNResult, type BestOfNCandidate } from './bon.js';
export { runCompactAB, formatCompact, COMPACT_PROMPTS, COMPACT_DEFAULT_BETA, type CompactAB, type CompactOptions, type CompactRow } from './compact.js';
export { readPrompts, parsePrompts } from './prompts.js';
export { drawPool, annotatePool, type Pool, type Candidate, type SamplingOptions, type PoolTiming } from './pool.js';
export { selectFromPool, selectSubset, subMatrix, type PoolSelection, type SelectOptions } from './pool-selection.js';
export { selectionKlPlugin, selectionDistribution, pluginKl, klBound, type SelectionDistribution } from './kl.js';
export { scoreUnderReferences, type ReferenceModel, type ReferenceKl, type ReferenceKlReport } from './references.js';
export { defineArms, type ArmSpec, type ArmKind } from './arms.js';
export { evaluateArm, type ArmResult, type KlReport, type ArmCost } from './metrics.js';
export { calibrateOnPools, overoptimization, describeOveroptimization, type BetaCalibration, type OveroptimizationStudy, type CurvePoint } from './study.js';
export { scoreRewards, type InvalidReward } from './scoring.js';
export { vectorProbeLoader } from './vector-probe.js';
export { writeReport, resultsDocument, RESULTS_FORMAT, type WrittenReport } from './report/write.js';
export { renderSvg, renderCharts } from './report/charts.js';
export { armsTable, compactArmsTable, tableToMarkdown, type Table } from './report/tables.js';
