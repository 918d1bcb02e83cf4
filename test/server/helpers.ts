/** A steering server on 127.0.0.1 (port 0) over the default model, and an openai client for it. */
import OpenAI from 'openai';
import { join } from 'node:path';
import { createServer, type ServerOptions, type SteeringServer } from '../../src/server/app.js';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { REPO } from '../helpers/paths.js';

export const VECTORS = join(REPO, 'vectors', 'tinystories-656k');
export const MODEL = 'tinystories-656k';

export interface Running { server: SteeringServer; url: string; client: OpenAI; close: () => Promise<void> }

export async function startServer(model: HookedModel, options: ServerOptions & { onApp?: (app: SteeringServer['app']) => void } = {}): Promise<Running> {
  const { onApp, ...serverOptions } = options;
  const server = createServer(model, { modelName: MODEL, vectors: VECTORS, ...serverOptions });
  onApp?.(server.app);
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: options.apiKey ?? 'unused', maxRetries: 0, timeout: 30_000 });
  return { server, url, client, close: () => server.shutdown(0) };
}

/** Raw HTTP for cases the client would not send. */
export async function post(url: string, path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; json: { error?: { message: string; type: string; param: string | null; code: string | null } } & Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, json: (await res.json()) as never };
}
