/** `onnx-steer serve`: the OpenAI-compatible steering server. */
import type { Command } from 'commander';
import { RuntimeFailureError, UsageError } from '../../errors.js';
import { checkInputDir, MAX_BATCH, numberOption, textOption } from '../../validate/index.js';
import { createServer } from '../../server/app.js';
import { addModelOptions, loadModel, type ModelCliOptions } from '../model-option.js';
import { progressFor } from '../progress.js';
import { handOverSignals } from '../../files/interrupt.js';

interface ServeCliOptions extends ModelCliOptions {
  vectors?: string;
  allowVectorPaths?: string;
  host: string;
  port: number;
  apiKey?: string;
  modelName?: string;
  maxBatch: number;
  maxTokens: number;
  queue: number;
  prefillChunk: number;
  bodyLimit: number;
  grace: number;
}

const POSITIVE = { integer: true, min: 1 } as const;
const NON_NEGATIVE = { integer: true, min: 0 } as const;

export function registerServe(program: Command): void {
  const cmd = program.command('serve').description('serve the model over an OpenAI-compatible HTTP API with per-request steering');
  addModelOptions(cmd)
    .option('--vectors <dir>', 'steering vectors directory (requests name them by file stem)', textOption('--vectors'))
    .option('--allow-vector-paths <dir>', 'also accept vector file paths in requests, only under this directory', textOption('--allow-vector-paths'))
    .option('--host <host>', 'address to bind', textOption('--host'), '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', numberOption('--port', { integer: true, min: 0, max: 65535 }), 8080)
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" on /v1 (default: $ONNX_STEER_API_KEY)', textOption('--api-key'))
    .option('--model-name <name>', 'model id clients send (default: the model directory name)', textOption('--model-name'))
    .option('--max-batch <n>', 'rows decoded together at most', numberOption('--max-batch', { integer: true, min: 1, max: MAX_BATCH }), 16)
    .option('--max-tokens <n>', 'largest max_tokens a request may ask for', numberOption('--max-tokens', POSITIVE), 1024)
    .option('--queue <n>', 'rows waiting for the batch at most (more get 429)', numberOption('--queue', NON_NEGATIVE), 256)
    .option('--prefill-chunk <n>', 'prompt tokens per prefill pass between decode steps', numberOption('--prefill-chunk', POSITIVE), 256)
    .option('--body-limit <bytes>', 'largest request body', numberOption('--body-limit', POSITIVE), 1 << 20)
    .option('--grace <ms>', 'on SIGTERM, how long in-flight requests may finish', numberOption('--grace', NON_NEGATIVE), 10_000)
    .action(async (opts: ServeCliOptions) => {
      // Checked before the model loads: a typo must not cost a model load to find.
      if (opts.vectors) checkInputDir(opts.vectors, 'vectors directory');
      if (opts.allowVectorPaths) checkInputDir(opts.allowVectorPaths, 'allowed vector directory');
      const apiKey = opts.apiKey ?? process.env.ONNX_STEER_API_KEY;
      if (apiKey !== undefined && apiKey.length === 0) throw new UsageError('ONNX_STEER_API_KEY is set but empty (unset it to serve without a key)');
      const model = await loadModel(opts, progressFor('serve'));
      const server = createServer(model, {
        maxBatch: opts.maxBatch, maxTokens: opts.maxTokens, maxQueue: opts.queue, prefillChunk: opts.prefillChunk, bodyLimit: opts.bodyLimit,
        ...(opts.vectors ? { vectors: opts.vectors } : {}),
        ...(opts.allowVectorPaths ? { allowVectorPaths: opts.allowVectorPaths } : {}),
        ...(apiKey ? { apiKey } : {}),
        ...(opts.modelName ? { modelName: opts.modelName } : {}),
      });
      let address: string;
      try {
        address = await server.app.listen({ host: opts.host, port: opts.port });
      } catch (err) {
        await server.shutdown(0).catch(() => undefined);
        await model.dispose();
        const code = (err as NodeJS.ErrnoException).code;
        const reason = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'no such host' : code === 'EADDRNOTAVAIL' ? 'the address is not on this machine' : (err as Error).message;
        throw new RuntimeFailureError(`cannot listen on ${opts.host}:${opts.port}: ${reason}`, { cause: err });
      }
      const vectors = server.registry.list();
      process.stderr.write(`onnx-steer: serving ${model.dir} at ${address} (max batch ${opts.maxBatch}${server.scheduler.ragged ? '' : ', rows of equal length only: this model cannot mask left padding'}; ${vectors.length} vector(s)${apiKey ? '; API key required' : ''})\n`);
      for (const v of vectors) if (!v.compatible) process.stderr.write(`onnx-steer: vector "${v.id}" cannot steer this model: ${v.problem ?? ''}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.stderr.write(`onnx-steer: ${signal}: draining (grace ${opts.grace} ms)\n`);
          server.shutdown(opts.grace).then(resolve, resolve);
        };
        handOverSignals();
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      await model.dispose();
      process.stderr.write('onnx-steer: stopped\n');
    });
}
