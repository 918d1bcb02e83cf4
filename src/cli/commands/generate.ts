/** `onnx-steer generate`: text generation on a hooked model, optionally steered. */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { GenerateOptions } from '../../generation/options.js';
import type { ChatMessage } from '../../runtime/tokenizer.js';
import { printJson } from '../common.js';
import { addModelOptions, loadModel, type ModelCliOptions } from '../model-option.js';
import { progressFor } from '../progress.js';
import { addSteeringOptions, steeringFromOptions, type SteeringCliOptions } from './steering-options.js';
import { quantityOption } from '../../validate/index.js';

interface GenerateCliOptions extends ModelCliOptions, SteeringCliOptions {
  prompt?: string;
  messages?: string;
  maxNewTokens?: number;
  temperature?: number;
  greedy?: boolean;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  n?: number;
  stop?: string[];
  stream?: boolean;
}

export function parseMessages(text: string): ChatMessage[] {
  const raw = text.startsWith('@') ? readMessagesFile(text.slice(1)) : text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`--messages is not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new UsageError('--messages must be a non-empty JSON array of {role, content}');
  return parsed.map((m: unknown, i) => {
    const msg = m as { role?: unknown; content?: unknown };
    if (typeof msg?.role !== 'string' || typeof msg.content !== 'string') throw new UsageError(`--messages entry ${i} needs string "role" and "content"`);
    return { role: msg.role, content: msg.content };
  });
}

function readMessagesFile(path: string): string {
  if (!existsSync(path)) throw new UsageError(`--messages file not found: ${path}`);
  return readFileSync(path, 'utf8');
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerGenerate(program: Command): void {
  const cmd = program.command('generate').description('generate text with a hooked model, optionally steered');
  addSteeringOptions(addModelOptions(cmd))
    .option('--prompt <text>', 'prompt text')
    .option('--messages <json>', 'chat messages as JSON (or @file.json), rendered with the chat template')
    .option('--max-new-tokens <n>', 'tokens to generate (default 64)', quantityOption('maxNewTokens'))
    .option('--temperature <t>', 'sampling temperature; 0 = greedy (default 1)', quantityOption('temperature'))
    .option('--greedy', 'greedy decoding (same as --temperature 0)')
    .option('--top-k <k>', 'keep the k most likely tokens', quantityOption('topK'))
    .option('--top-p <p>', 'nucleus sampling mass in (0, 1]', quantityOption('topP'))
    .option('--min-p <p>', 'drop tokens below p × the top probability', quantityOption('minP'))
    .option('--repetition-penalty <r>', 'penalty for repeated tokens (1 = none)', quantityOption('repetitionPenalty'))
    .option('--seed <s>', 'random seed (row k of --n uses a seed derived from it)', quantityOption('seed'))
    .option('--n <n>', 'number of candidates, decoded as one batch', quantityOption('n'))
    .option('--stop <text>', 'stop string (repeatable)', collect)
    .option('--no-stream', 'print the text only when generation ends')
    .option('--json', 'print one JSON document')
    .action(async (opts: GenerateCliOptions) => {
      if ((opts.prompt === undefined) === (opts.messages === undefined)) throw new UsageError('give exactly one of --prompt or --messages');
      const input = opts.messages !== undefined ? parseMessages(opts.messages) : (opts.prompt as string);
      const genOptions: GenerateOptions = {
        maxNewTokens: opts.maxNewTokens,
        temperature: opts.greedy ? 0 : opts.temperature,
        topK: opts.topK, topP: opts.topP, minP: opts.minP,
        repetitionPenalty: opts.repetitionPenalty,
        seed: opts.seed, n: opts.n, stop: opts.stop,
      };
      const model = await loadModel(opts, progressFor('generate'));
      try {
        const steering = steeringFromOptions(opts, model);
        if (!steering.empty) genOptions.steering = steering.plan();
        await runGenerate(model, input, genOptions, opts, steering.empty ? undefined : steering.describe());
      } finally {
        await model.dispose();
      }
    });
}

async function runGenerate(model: Awaited<ReturnType<typeof loadModel>>, input: string | ChatMessage[], options: GenerateOptions, opts: GenerateCliOptions, steering?: string): Promise<void> {
  const n = options.n ?? 1;
  const streaming = !opts.json && opts.stream !== false && n === 1;
  const it = model.stream(input, options);
  for (;;) {
    const { value, done } = await it.next();
    if (done) break;
    if (value.type === 'done') {
      const result = value.result;
      if (opts.json) {
        printJson({
          model: model.dir,
          prompt: typeof input === 'string' ? input : undefined,
          messages: typeof input === 'string' ? undefined : input,
          promptIds: result.promptIds,
          ...(steering ? { steering: steering.split('\n') } : {}),
          candidates: result.rows.map((r) => ({ text: r.text, ids: r.ids, logprobs: r.logprobs, logprob: r.logprobs.reduce((a, b) => a + b, 0), seed: r.seed, finishReason: r.finishReason })),
          timing: { ...result.timing, tokensPerSecond: result.timing.generatedTokens / (result.timing.decodeMs / 1000 || Infinity) },
        });
      } else if (streaming) {
        process.stdout.write('\n');
      } else {
        for (const r of result.rows) {
          if (n > 1) process.stdout.write(`--- candidate ${r.index} (seed ${r.seed}, ${r.finishReason})\n`);
          process.stdout.write(`${r.text}\n`);
        }
      }
    } else if (streaming) {
      process.stdout.write(value.text);
    }
  }
}
