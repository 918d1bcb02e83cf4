/**
 * onnx-steer: representation engineering on ONNX language models in Node.js.
 *
 * The public API, by stage:
 *   hooked models (build, instrument, manifest) → runtime (HookedModel:
 *   generate, score, capture) → steering plans.
 */
export {
  SteeringError, UsageError, InvalidArgumentError, FileNotFoundError, CorruptFileError, InvalidDataError,
  UnsupportedArchitectureError, UnsupportedDtypeError, OutputExistsError, NoResidualStreamError,
  HookNotFoundError, ModelMismatchError, ShapeMismatchError, DownloadError, RuntimeFailureError,
  type ErrorCode,
} from './errors.js';
export { LIBRARY_VERSION } from './version.js';

// Hooked models
export { buildModel, type BuildOptions } from './build/index.js';
export { instrumentModel, analyzeModel, type InstrumentOptions, type InstrumentReport } from './instrument/index.js';
export { readManifest, type HooksManifest, type HookSiteInfo, type CacheLayout } from './hooks/manifest.js';
export { siteName, parseSiteName, type SiteKind, type SiteSelection } from './hooks/sites.js';

// Runtime
export { HookedModel, type ModelInput, type LoadOptions } from './runtime/model.js';
export { ModelRunner, type ForwardArgs, type ForwardResult } from './runtime/runner.js';
export type { SessionOptions } from './runtime/session.js';
export type { ChatMessage } from './runtime/tokenizer.js';
export { defaultModelDir, resolveDefaultCheckpoint, cacheDir } from './runtime/default-model.js';
export type { Float32Tensor } from './runtime/tensors.js';

// Generation
export type { GenerateOptions } from './generation/options.js';
export type { GenerationResult, GeneratedRow, GenerationEvent } from './generation/generate.js';
export type { ScoredContinuation, ScoreOptions } from './generation/score.js';
export type { PositionSelector, CaptureOptions, CaptureResult } from './generation/capture.js';
export { rowSeed } from './generation/rng.js';

// Steering plans
export type { SteeringPlan, Intervention, SteeringOperator, PositionSpec, StrengthSchedule } from './steering/plan.js';
