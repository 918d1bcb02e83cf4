/**
 * The README's worked example of generation backends: starts `onnx-steer
 * serve` over the default model on 127.0.0.1 (an ephemeral port, in this
 * process, stopped at the end), then runs the same `bon` and `prefs`
 * commands with `--backend openai:<url>` and with `--backend local`, prints
 * what each printed, and whether the two printed the same thing.
 *
 *   npx tsx bench/backends-example.ts
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/program.js';
import { defaultModelDir } from '../src/model/default-model.js';
import { HookedModel } from '../src/model/hooked-model.js';
import { createServer } from '../src/server/app.js';

const VECTORS = join(import.meta.dirname, '..', 'vectors', 'tinystories-656k');

async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((c: string | Uint8Array) => { out += String(c); return true; });
  try {
    return { code: await main(args), out };
  } finally {
    process.stdout.write = write;
  }
}

const dir = await defaultModelDir();
const model = await HookedModel.load(dir, { intraOpNumThreads: 1 });
const server = createServer(model, { modelName: 'tinystories-656k', vectors: VECTORS });
const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
const work = mkdtempSync(join(tmpdir(), 'onnx-steer-backends-example-'));
try {
  const pairs = readFileSync(join(VECTORS, 'joy.pairs.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).slice(0, 8);
  writeFileSync(join(work, 'pairs.jsonl'), `${pairs.join('\n')}\n`);
  const examples: [string, string[]][] = [
    ['bon', ['bon', '--prompt', 'Once upon a time', '--n', '4', '--max-new-tokens', '16', '--seed', '1', '--reward', 'afinn', '--utility', 'rouge-l', '--method', 'kl-bon', '--beta', '0.5', '--vector', `${join(VECTORS, 'joy.json')}=3`]],
    ['prefs', ['prefs', '--policy', dir, '--pairs', join(work, 'pairs.jsonl'), '--vector', `${join(VECTORS, 'joy.json')}=2`]],
  ];
  for (const [name, args] of examples) {
    const remote = await run([...args, '--backend', `openai:${url}`]);
    const local = await run([...args, ...(name === 'bon' ? ['--model', dir] : []), '--backend', 'local']);
    // The policy line of prefs names the backend; everything else must match.
    const body = (s: string) => s.split('\n').filter((l) => !l.startsWith('policy ') && !l.startsWith('reference ')).join('\n');
    const shown = (t: string) => t.replaceAll(url, 'http://127.0.0.1:<port>').replaceAll(work, '.').replaceAll(VECTORS, 'vectors/tinystories-656k').replaceAll(dir, '<model>');
    const quote = (a: string) => (/[\s"']/.test(a) ? `"${a}"` : a);
    process.stdout.write(`$ onnx-steer ${args.map((a) => quote(shown(a))).join(' ')} --backend openai:http://127.0.0.1:<port>\n`);
    process.stdout.write(`${shown(remote.out).trimEnd()}\n`);
    process.stdout.write(`(exit ${remote.code}; with --backend local: exit ${local.code}, ${body(local.out) === body(remote.out) ? 'the same output' : 'DIFFERENT output:\n' + local.out})\n\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  await server.shutdown(0);
  await model.dispose();
}
