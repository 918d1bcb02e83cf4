/**
 * onnx-steer: representation engineering on ONNX language models in Node.js.
 *
 * The public API, by stage of the pipeline:
 *   pairs → activations → vector → steering plan → generation → selection → report
 * i.e. hooked models (build, instrument, manifest) → runtime (HookedModel:
 * generate, score, capture) → contrast pairs and extraction methods →
 * SteeringVector files → Steering plans → rewards, utilities and selectors
 * (each kind a registry) → Best-of-N and the A/B harness → reports.
 * Everything the CLI does is reachable from here; the graph runner, pair
 * encoding, fold fitting and other internals are not exported.
 */
export {
  SteeringError, UsageError, InvalidArgumentError, FileNotFoundError, CorruptFileError, InvalidDataError,
  UnsupportedArchitectureError, UnsupportedDtypeError, OutputExistsError, NoResidualStreamError,
  HookNotFoundError, ModelMismatchError, ShapeMismatchError, DownloadError, RuntimeFailureError, QueueFullError, SchedulerClosedError,
  InvalidSpecError, UnknownRewardError, UnknownUtilityError, UnknownSelectorError, EmptyPromptsError, RewardValueError, RewardModuleError,
  BackendUnreachableError, BackendAuthError, BackendRequestError, BackendCapabilityError,
  type ErrorCode, type SteeringErrorOptions,
} from './errors.js';
export { LIBRARY_VERSION } from './version.js';

// Hooked models
export { buildModel, type BuildOptions } from './builder/index.js';
export { instrumentModel, analyzeModel, type InstrumentOptions, type InstrumentReport } from './instrument/index.js';
export { readManifest, type HooksManifest, type HookSiteInfo, type CacheLayout } from './hooks/manifest.js';
export { siteName, parseSiteName, type SiteKind, type SiteSelection } from './hooks/sites.js';

// Runtime
export { HookedModel, type ModelInput, type LoadOptions } from './model/hooked-model.js';
export type { SessionOptions } from './runtime/session.js';
export type { ChatMessage } from './runtime/tokenizer.js';
export { defaultModelDir, resolveDefaultCheckpoint, cacheDir } from './model/default-model.js';
export { hookedModelDir, cachedCheckpointBuild } from './model/checkpoint-cache.js';
export type { Float32Tensor } from './runtime/tensors.js';

// Generation
export type { GenerateOptions } from './generation/options.js';
export type { GenerationResult, GeneratedRow, GenerationEvent } from './generation/generate.js';
export type { ScoredContinuation, ScoreOptions } from './generation/score.js';
export type { PositionSelector, CaptureOptions, CaptureResult } from './generation/capture.js';
export { rowSeed } from './math/rng.js';

// Steering plans
export type { SteeringPlan, Intervention, SteeringOperator, PositionSpec, StrengthSchedule, LowRankMap } from './steering/plan.js';

// Steering vectors: pairs → directions → vectors → steering
export { Steering, type SteeringTerm, type SteeringTermOptions } from './vectors/steering.js';
export { SteeringVector, modelIdentity, type ToPlanOptions, type LoadVectorOptions, type ModelLike } from './vectors/vector.js';
export { VECTOR_FORMAT, VECTOR_VERSION, VECTOR_VERSIONS, type LowRankArrays, type LowRankFit, type VectorFile, type VectorMetadata, type SiteMeta, type SiteSeparability, type DatasetInfo, type ModelIdentity } from './vectors/format.js';
export { loadPairs, parsePairs, type ContrastPair, type PairDataset, type ContrastKind } from './pairs/pairs.js';
export { parseReadPosition, formatReadPosition, DEFAULT_RESPONSE_TOKENS, type ReadPosition } from './vectors/positions.js';
export type { ContrastSamples } from './vectors/samples.js';
export { meanDiff, pcaDiff, pcaCenter, probe, registerMethod, methodSpec, methodNames, type DirectionMethod, type MethodSpec, type ProbeOptions } from './vectors/methods.js';
export { separability, type Separability } from './vectors/separability.js';
export { effectCurve, fluentRange, type EffectPoint } from './vectors/effect.js';
export { sweep, recommend, formatSweep, DEFAULT_FRACTIONS, type SweepOptions, type SweepReport, type SiteSweep } from './vectors/sweep.js';
export { extractVector, type ExtractOptions, type ExtractResult } from './vectors/extract.js';
export { extractDualVector, readDual, dualDirection, assertDualCompatible, defaultDualSites, RAHF_DUAL, type DualModels, type DualSamples, type DualExtractOptions, type DualExtractResult } from './vectors/dual.js';
export { loadPrompts, readPrompts as readABPrompts, parsePrompts as parseABPrompts, type PromptFormat } from './pairs/prompts.js';
export { evaluateSteering, formatEvaluation, type EvaluateOptions, type EvaluationReport, type EvaluationPoint } from './vectors/evaluate.js';
export { vaderJudge, afinnJudge, dialogueJudge, judgeByName, type Judge } from './vectors/judges.js';
export { SHIPPED, shippedDir, type ShippedRecipe } from './vectors/shipped.js';

// Selection: rewards, MBR utilities and selectors, each a registry
export { parseReward, registerReward, rewardKinds, rewardUsages, defineReward, type Reward, type RewardItem, type RewardContext, type RewardKind, type ProbeDirection } from './rewards/index.js';
export { parseUtility, registerUtility, utilityKinds, utilityUsages, type Utility, type UtilityItem, type UtilityContext, type UtilityKind } from './utilities/index.js';
export {
  registerSelector, selectorSpec, selectorNames, getSelector, needs, bon, mbr, mbrBon, klBon, softKl, lengthBon, meanUtility, calibrateBeta,
  meanCI, winRate, klMonteCarlo, bonKlBound, distinctN, perplexity,
  type SelectorSpec, type SelectorNeeds, type Selector, type SelectionInput, type Selection, type Interval, type WinRate, type KlEstimate,
} from './selection/index.js';
export { MiniLMEmbedder, captureResponseActivations, type ResponseActivations } from './embed/index.js';

// RLVR reasoning-pattern selection
export { runPatterns, type PatternsOptions, type PatternReport, type SelectorResult } from './patterns/run.js';
export { clusterPoints, assignToCentroids, silhouette, type Clustering, type ClusterOptions, type ClusterMethod } from './patterns/cluster.js';
export { patternStats, wilson, poolMass, PATTERN_SELECTORS, PATTERN_SELECTOR_NAMES, type PatternCandidate, type PatternStat, type PatternSelector, type PatternSelectorName } from './patterns/stats.js';
export { formatPatterns } from './patterns/format.js';
export { parseVerifier, promptCharacter, VERIFIER_KINDS } from './rewards/kinds/verifiers.js';
export { fitLowRankMap, DEFAULT_RANKS, DEFAULT_LAMBDA_SCALES, type LowRankData, type LowRankFitOptions, type LowRankResult } from './vectors/lowrank-fit.js';
export { addLowRankSites, lowRankNames } from './hooks/lowrank.js';

// A/B harness and single-prompt Best-of-N
export {
  runAB, runBestOfN, runCompactAB, formatCompact,
  writeReport as writeABReport, resultsDocument as abResultsDocument, selectFromPool, selectionKlPlugin, calibrateOnPools, overoptimization,
  vectorProbeLoader, COMPACT_PROMPTS, COMPACT_DEFAULT_BETA,
  type ABOptions, type ABResult, type ArmResult, type ArmSpec, type BestOfNOptions, type BestOfNResult, type CompactAB, type CompactOptions, type CompactRow,
  type Pool, type Candidate, type PoolSelection, type BetaCalibration, type OveroptimizationStudy, type InvalidReward,
  type ReferenceModel, type ReferenceKlReport,
} from './ab/index.js';
// Charts: vega-lite specs rendered to SVG in Node, and as notebook MIME bundles (spec + SVG)
export { renderSvg, goldVsKlSpec, chartBundle, VEGA_LITE_MIME, compactArmsTable, tableToMarkdown, type ChartBundle } from './ab/index.js';

// Preference criteria (DPO, RPO, MRPO) by forward passes, and MRPO's combined reference over a candidate pool
export { scorePreferences, formatPreferences, type PreferenceReport, type PreferenceScoreOptions, type PairScorer, type PolicySteering } from './prefs/score.js';
export { preferenceCriteria, mrpoPair, DEFAULT_CRITERION_PARAMS, type CriterionParams, type PreferenceCriteria, type SideLogprobs } from './prefs/criteria.js';
export { mrpoPoolReference, type PoolReference } from './prefs/pool-reference.js';
// The overoptimization study (Best-of-N vs MBR-BoN and KL-BoN over a ladder of proxies)
export {
  runStudy, writeStudyReport, studySummary, drawLadderPool, poolFor, calibrateSelector, proxyCurves, proxyVerdict, RELATIVE_BETA_GRID,
  type StudyOptions, type StudyResult, type LadderRung, type LadderPool, type StudyPoint, type ProxyVerdict, type SelectorCalibration,
} from './study/index.js';
export { lengthReward, type LengthUnit } from './rewards/kinds/length.js';

// Generation backends: where BoN and the A/B harness draw and score (local model or OpenAI-compatible server)
export {
  localBackend, openaiBackend, Journal, journaled,
  type Backend, type BackendInfo, type BackendNeeds, type BackendSteering, type DrawRequest, type DrawResult, type DrawnRow, type ScoreRequest, type OpenAIBackendOptions,
} from './backends/index.js';

// Interop: GGUF containers and llama.cpp control vectors
export {
  GgufWriter, writeGguf, layoutGguf, readGguf, readGgufTensorBytes, parseGguf, metadataOf, meta as ggufMeta, GgmlType, GGML_TYPES, ggmlDims, f32Bytes,
  type GgufFile, type GgufTensorInfo, type GgufValue, type GgufTensorSpec, type GgufTensorInput, type GgufWriterOptions, type GgufLayout,
} from './gguf/index.js';
export {
  exportControlVector, importControlVector, readControlVector, controlVectorLayers, modelHintOf,
  type ControlVectorExportOptions, type ControlVectorInfo, type ImportControlVectorOptions,
} from './interop/control-vector.js';
// Serving: the continuous-batching scheduler (library) and the OpenAI-compatible server
export { Scheduler, type SchedulerOptions, type JobHandle, type SchedulerMetrics } from './serving/scheduler.js';
export type { GenerationRequest, JobEvent, JobResult, FinishedRow, PromptTokenInfo } from './serving/job.js';
export type { SamplingSpec, TokenInfo, TopLogprob, RowFinish } from './serving/sequence.js';
export { DecodeBatch } from './generation/batch.js';
export { createServer, type ServerOptions, type SteeringServer } from './server/app.js';
