/**
 * Backend flags shared by bon, ab, patterns and prefs:
 *
 *   --backend local|openai:<base-url>      where candidates are drawn (default local: --model)
 *   --backend-model <name>                 the server's model (default: the only one it lists)
 *   --reference-backend local|openai:<url> where log π_ref is scored (default: --backend)
 *   --reference-backend-model <name>
 *   --api-key <key>                        (default ONNX_STEER_API_KEY, then OPENAI_API_KEY)
 *   --concurrency <n>  --request-timeout <s>  --retries <n>
 *
 * and the journal that makes a run resumable (journal-<hash>.jsonl in the
 * output folder, keyed by the arguments that decide the results).
 */
import type { Command } from 'commander';
import { journaled } from '../backends/journaled.js';
import { Journal } from '../backends/journal.js';
import { localBackend } from '../backends/local.js';
import { openaiBackend } from '../backends/openai.js';
import type { Backend } from '../backends/types.js';
import { UsageError } from '../errors.js';
import type { HookedModel } from '../model/hooked-model.js';
import { numberOption } from '../validate/index.js';

export interface BackendCliOptions {
  backend?: string;
  backendModel?: string;
  referenceBackend?: string;
  referenceBackendModel?: string;
  apiKey?: string;
  concurrency?: number;
  requestTimeout?: number;
  retries?: number;
}

export type BackendSpec = { kind: 'local' } | { kind: 'openai'; url: string };

export function parseBackendSpec(flag: string, text: string): BackendSpec {
  const t = text.trim();
  if (t === 'local') return { kind: 'local' };
  if (t.startsWith('openai:')) {
    const url = t.slice('openai:'.length);
    if (!/^https?:\/\/[^/\s]+/.test(url)) throw new UsageError(`${flag} openai:<base-url> needs an http(s) URL, e.g. openai:http://127.0.0.1:8000/v1; got "${t}"`);
    return { kind: 'openai', url };
  }
  throw new UsageError(`${flag} must be local or openai:<base-url>, got "${t}"`);
}

export function addBackendOptions(cmd: Command): Command {
  return cmd
    .option('--backend <spec>', 'where candidates are drawn: local (default, --model) or openai:<base-url> (an OpenAI-compatible server)')
    .option('--backend-model <name>', 'model name on the --backend server (default: the only one it lists)')
    .option('--reference-backend <spec>', 'where log π_ref is scored: local or openai:<base-url> (default: --backend)')
    .option('--reference-backend-model <name>', 'model name on the --reference-backend server')
    .option('--api-key <key>', 'API key for the servers (default: $ONNX_STEER_API_KEY, then $OPENAI_API_KEY)')
    .option('--concurrency <n>', 'requests in flight per server, and prompts worked on at once (default 4 with a server, 1 locally)', numberOption('--concurrency', { integer: true, min: 1, max: 1024 }))
    .option('--request-timeout <s>', 'seconds per server request (default 120)', numberOption('--request-timeout', { min: 0.001, max: 86_400 }))
    .option('--retries <n>', 'retries per request on connection errors, 408/409/429 and 5xx, with backoff and Retry-After (default 4)', numberOption('--retries', { integer: true, min: 0, max: 20 }));
}

/** Checks the backend flags without touching the network; says whether a local model is needed. */
export function checkBackendOptions(opts: BackendCliOptions): { policy: BackendSpec; reference: BackendSpec | undefined; needsLocal: boolean } {
  const policy = parseBackendSpec('--backend', opts.backend ?? 'local');
  const reference = opts.referenceBackend !== undefined ? parseBackendSpec('--reference-backend', opts.referenceBackend) : undefined;
  if (opts.backendModel !== undefined && policy.kind !== 'openai') throw new UsageError('--backend-model needs --backend openai:<base-url>');
  if (opts.referenceBackendModel !== undefined && reference?.kind !== 'openai') throw new UsageError('--reference-backend-model needs --reference-backend openai:<base-url>');
  const anyRemote = policy.kind === 'openai' || reference?.kind === 'openai';
  if (!anyRemote) {
    for (const [flag, v] of [['--api-key', opts.apiKey], ['--request-timeout', opts.requestTimeout], ['--retries', opts.retries]] as const) {
      if (v !== undefined) throw new UsageError(`${flag} needs --backend or --reference-backend openai:<base-url>`);
    }
  }
  return { policy, reference, needsLocal: policy.kind === 'local' || reference?.kind === 'local' };
}

export interface OpenedBackends {
  policy: Backend;
  reference: Backend;
  remote: boolean;
  journal: Journal | undefined;
  concurrency: number;
}

async function open(spec: BackendSpec, model: string | undefined, opts: BackendCliOptions, local: HookedModel | undefined): Promise<Backend> {
  if (spec.kind === 'local') {
    if (!local) throw new UsageError('the local backend needs a model (--model)');
    return localBackend(local);
  }
  return openaiBackend({
    baseURL: spec.url,
    ...(model !== undefined ? { model } : {}),
    ...(opts.apiKey !== undefined ? { apiKey: opts.apiKey } : {}),
    concurrency: opts.concurrency ?? 4,
    ...(opts.requestTimeout !== undefined ? { timeoutMs: Math.round(opts.requestTimeout * 1000) } : {}),
    ...(opts.retries !== undefined ? { maxRetries: opts.retries } : {}),
    // The local model's end-of-sequence ids tell `eos` from `stop` finishes (the server must share the tokenizer, as a reference does).
    ...(local ? { eosIds: local.tokenizer.eosIds } : {}),
  });
}

/**
 * The policy and reference backends, both through one journal when `journal`
 * names a folder. `args` are the run's result-deciding arguments (never the
 * API key, concurrency or timeouts).
 */
export async function openBackends(opts: BackendCliOptions, local: HookedModel | undefined, journal?: { dir: string; args: unknown }): Promise<OpenedBackends> {
  const specs = checkBackendOptions(opts);
  const policy = await open(specs.policy, opts.backendModel, opts, local);
  const sameRef = specs.reference === undefined
    || (specs.reference.kind === specs.policy.kind && (specs.reference.kind === 'local' || (specs.policy.kind === 'openai' && specs.reference.url === specs.policy.url && (opts.referenceBackendModel ?? opts.backendModel) === opts.backendModel)));
  const reference = sameRef ? policy : await open(specs.reference as BackendSpec, opts.referenceBackendModel, opts, local);
  const remote = policy.info.kind === 'openai' || reference.info.kind === 'openai';
  const concurrency = opts.concurrency ?? (remote ? 4 : 1);
  if (!journal) return { policy, reference, remote, journal: undefined, concurrency };
  const j = Journal.open(journal.dir, { ...(journal.args as object), backend: policy.info.id, referenceBackend: reference.info.id });
  const p = journaled(policy, j);
  return { policy: p, reference: reference === policy ? p : journaled(reference, j), remote, journal: j, concurrency };
}

/** The one line a resumed run prints on stderr. */
export function resumeNote(j: Journal | undefined): string | undefined {
  return j && j.resumed > 0 ? `onnx-steer: resuming from ${j.path} (${j.resumed} results already there)\n` : undefined;
}
