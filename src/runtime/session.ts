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
}

export async function createSession(modelPath: string, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: options.executionProviders ?? ['cpu'],
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    logSeverityLevel: 3,
  };
  if (options.intraOpNumThreads !== undefined) sessionOptions.intraOpNumThreads = options.intraOpNumThreads;
  if (options.interOpNumThreads !== undefined) sessionOptions.interOpNumThreads = options.interOpNumThreads;
  try {
    return await ort.InferenceSession.create(modelPath, sessionOptions);
  } catch (err) {
    const first = (err as Error).message.split('\n')[0] ?? '';
    throw new RuntimeFailureError(`onnxruntime could not load ${modelPath}: ${first}`, { cause: err });
  }
}
