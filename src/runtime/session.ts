/** onnxruntime session creation with configurable execution providers and threads. */
import * as ort from 'onnxruntime-node';
import { RuntimeFailureError } from '../errors.js';

export interface SessionOptions {
  /** Execution providers in priority order; default ['cpu']. */
  executionProviders?: string[];
  /** Intra-op threads; default: onnxruntime's choice (all cores). */
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** onnxruntime session configuration entries (e.g. `{ disable_prepacking: '1' }`). */
  sessionConfig?: Record<string, string>;
  /** Turn on onnxruntime's profiler; the trace (`<prefix>_<time>.json`) is written when `session.endProfiling()` is called. */
  profileFilePrefix?: string;
}

/**
 * Creates a session from a model file, or from model bytes whose external
 * data lives in `externalDataDir`.
 */
ort.env.logLevel = 'fatal';

export async function createSession(model: string | Uint8Array, options: SessionOptions & { externalDataDir?: string; label?: string } = {}): Promise<ort.InferenceSession> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: options.executionProviders ?? ['cpu'],
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    // Fatal only: onnxruntime's own error lines would precede ours; its errors come back as exceptions we report.
    logSeverityLevel: 4,
  };
  if (options.intraOpNumThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
  if (options.interOpNumThreads !== undefined) sessionOptions.interOpNumThreads = options.interOpNumThreads;
  if (options.profileFilePrefix !== undefined) {
    sessionOptions.enableProfiling = true;
    sessionOptions.profileFilePrefix = options.profileFilePrefix;
  }
  const config: Record<string, string> = { ...(options.sessionConfig ?? {}) };
  if (options.externalDataDir) config.model_external_initializers_file_folder_path = options.externalDataDir;
  if (Object.keys(config).length > 0) sessionOptions.extra = { session: config };
  const label = options.label ?? (typeof model === 'string' ? model : 'model');
  try {
    return typeof model === 'string'
      ? await ort.InferenceSession.create(model, sessionOptions)
      : await ort.InferenceSession.create(model, sessionOptions);
  } catch (err) {
    const first = (err as Error).message.split('\n')[0] ?? '';
    throw new RuntimeFailureError(`onnxruntime could not load ${label}: ${first}`, { cause: err });
  }
}
