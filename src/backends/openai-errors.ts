/**
 * The official openai client's errors as onnx-steer's typed errors, one line
 * each. The client has already retried what is worth retrying (connection
 * errors, timeouts, 408, 409, 429, ≥ 500, with exponential backoff, jitter and
 * Retry-After) by the time an error reaches here.
 */
import OpenAI from 'openai';
import { BackendAuthError, BackendCapabilityError, BackendRequestError, BackendUnreachableError, SteeringError } from '../errors.js';

function firstLine(s: string): string {
  return (s.split('\n')[0] ?? '').trim();
}

function serverMessage(body: unknown, fallback: string): string {
  const m = (body as { message?: unknown } | undefined)?.message;
  return firstLine(typeof m === 'string' ? m : fallback);
}

export function backendError(err: unknown, url: string, what: string): SteeringError {
  if (err instanceof SteeringError) return err;
  if (err instanceof OpenAI.APIConnectionTimeoutError) return new BackendUnreachableError(url, `${what} timed out`, { cause: err });
  if (err instanceof OpenAI.APIConnectionError) {
    const cause = err.cause as { cause?: { code?: string; message?: string }; code?: string } | undefined;
    const code = cause?.code ?? cause?.cause?.code ?? cause?.cause?.message;
    return new BackendUnreachableError(url, `${what} failed (${code ?? firstLine(err.message)})`, { cause: err });
  }
  if (err instanceof OpenAI.APIError) {
    const status = typeof err.status === 'number' ? err.status : null;
    if (status === 401 || status === 403) return new BackendAuthError(url, status, { cause: err });
    const code = (err.error as { code?: unknown } | undefined)?.code;
    if (status === 404 && code === 'model_not_found') return new BackendCapabilityError('model', `the backend at ${url}: ${serverMessage(err.error, err.message)}`, { cause: err });
    return new BackendRequestError(`the backend at ${url} refused ${what} (HTTP ${status ?? '?'}): ${serverMessage(err.error, err.message)}`, status, { cause: err });
  }
  return new BackendRequestError(`the backend at ${url} failed ${what}: ${firstLine(err instanceof Error ? err.message : String(err))}`, null, { cause: err });
}
