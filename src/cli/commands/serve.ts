/** `onnx-steer serve`: the OpenAI-compatible steering server. */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { createServer } from '../../server/app.js';
import { parseIntOption } from '../common.js';
import { addModelOptions, loadModel, type ModelCliOptions } from '../model-option.js';
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

export function registerServe(program: Command): void {
  const cmd = program.command('serve').description('serve the model over an OpenAI-compatible HTTP API with per-request steering');
  addModelOptions(cmd)
    .option('--vectors <dir>', 'steering vectors directory (requests name them by file stem)')
    .option('--allow-vector-paths <dir>', 'also accept vector file paths in requests, only under this directory')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', parseIntOption('--port'), 8080)
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" on /v1 (default: $ONNX_STEER_API_KEY)')
    .option('--model-name <name>', 'model id clients send (default: the model directory name)')
    .option('--max-batch <n>', 'rows decoded together at most', parseIntOption('--max-batch'), 16)
    .option('--max-tokens <n>', 'largest max_tokens a request may ask for', parseIntOption('--max-tokens'), 1024)
    .option('--queue <n>', 'rows waiting for the batch at most (more get 429)', parseIntOption('--queue'), 256)
    .option('--prefill-chunk <n>', 'prompt tokens per prefill pass between decode steps', parseIntOption('--prefill-chunk'), 256)
    .option('--body-limit <bytes>', 'largest request body', parseIntOption('--body-limit'), 1 << 20)
    .option('--grace <ms>', 'on SIGTERM, how long in-flight requests may finish', parseIntOption('--grace'), 10_000)
    .action(async (opts: ServeCliOptions) => {
      if (opts.port < 0 || opts.port > 65535) throw new UsageError('--port must be in [0, 65535]');
      for (const [name, v] of [['--max-batch', opts.maxBatch], ['--max-tokens', opts.maxTokens], ['--prefill-chunk', opts.prefillChunk], ['--body-limit', opts.bodyLimit]] as const) {
        if (v < 1) throw new UsageError(`${name} must be ≥ 1`);
      }
      if (opts.queue < 0 || opts.grace < 0) throw new UsageError('--queue and --grace must be ≥ 0');
      const model = await loadModel(opts);
      const apiKey = opts.apiKey ?? process.env.ONNX_STEER_API_KEY;
      const server = createServer(model, {
        maxBatch: opts.maxBatch, maxTokens: opts.maxTokens, maxQueue: opts.queue, prefillChunk: opts.prefillChunk, bodyLimit: opts.bodyLimit,
        ...(opts.vectors ? { vectors: opts.vectors } : {}),
        ...(opts.allowVectorPaths ? { allowVectorPaths: opts.allowVectorPaths } : {}),
        ...(apiKey ? { apiKey } : {}),
        ...(opts.modelName ? { modelName: opts.modelName } : {}),
      });
      const address = await server.app.listen({ host: opts.host, port: opts.port });
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
