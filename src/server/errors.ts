/**
 * OpenAI-shaped errors: `{ error: { message, type, param, code } }`. A
 * client's mistake is always a 4xx (the official client retries 408, 409,
 * 429 and ≥ 500, so a bad request must never look like one of those).
 */
import { QueueFullError, SchedulerClosedError, SteeringError } from '../errors.js';

export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;

  constructor(status: number, message: string, options: { type?: string; param?: string | null; code?: string | null } = {}) {
    super(message);
    this.status = status;
    this.type = options.type ?? (status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error');
    this.param = options.param ?? null;
    this.code = options.code ?? null;
  }
}

export function badRequest(message: string, param?: string, code = 'invalid_value'): ApiError {
  return new ApiError(400, message, { param: param ?? null, code });
}

export interface ErrorBody { error: { message: string; type: string; param: string | null; code: string | null } }

/** Maps any error to a status and an OpenAI error body, with a one-line message. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof QueueFullError) return new ApiError(429, err.message, { code: 'queue_full' });
  if (err instanceof SchedulerClosedError) return new ApiError(503, err.message, { type: 'server_error', code: 'shutting_down' });
  if (err instanceof SteeringError) {
    const line = err.message.split('\n')[0] ?? '';
    if (err.code === 'RUNTIME' || err.code === 'DOWNLOAD_FAILED') return new ApiError(500, line, { code: 'runtime_error' });
    return new ApiError(400, line, { code: err.code.toLowerCase() });
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // fastify's own errors: body too large, malformed JSON, bad content type, …
    const message = e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'the request body is too large'
      : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'the request body must be application/json'
      : e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the request body is empty'
      : (e.message ?? 'bad request').split('\n')[0] ?? 'bad request';
    const status = e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 415 : e.statusCode;
    return new ApiError(status, e.code?.startsWith('FST_ERR_CTP_INVALID_JSON') === true || err instanceof SyntaxError ? `malformed JSON body: ${message}` : message, { code: e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large' : 'invalid_request' });
  }
  return new ApiError(500, 'internal server error', { code: 'internal_error' });
}

export function errorBody(err: ApiError): ErrorBody {
  return { error: { message: err.message, type: err.type, param: err.param, code: err.code } };
}
