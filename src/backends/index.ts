/** Generation backends: local (a HookedModel) and openai (any OpenAI-compatible server), and resumable journals. */
export { localBackend, asBackend } from './local.js';
export { openaiBackend, normalizeBaseURL, type OpenAIBackendOptions } from './openai.js';
export { Journal } from './journal.js';
export { journaled } from './journaled.js';
export type { Backend, BackendInfo, BackendNeeds, BackendSteering, DrawRequest, DrawResult, DrawnRow, ScoreRequest } from './types.js';
