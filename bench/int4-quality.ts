/**
 * Quality of the 4-bit weight formats the kernel sweep (bench/int4-kernels.ts)
 * compares, on the default model: each format re-quantizes the fp32 hooked
 * build's linear weights and head (`quantizeWeights` with that format), and
 * is scored like `--quantize int4` in bench/hooks-quant.ts:
 * - logits at the last position of the 3 sequences of the float64 numpy
 *   reference: max |Δ| as a share of the largest |logit|, and argmax
 *   agreement over every position;
 * - greedy ids from BOS equal to fp32 (of 60) and the perplexity ratio on
 *   the 64 held-out texts.
 *
 * With `--decode`, also the speed side on the SmolLM2-135M shape (random
 * init, every hook site): each format re-quantizes the fp32 hooked build,
 * and batch-1 decode at one intra-op thread is timed against fp32 and
 * against the first format, A B A B per decode step (bench/steering.ts).
 *
 *   npx tsx bench/int4-quality.ts [--formats=b32-sym,b32-zp,b64-sym,b64-zp,b128-sym,b128-zp] [--decode] [--runs=5] [--tokens=32]
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultModelDir } from '../src/model/default-model.js';
import { readModel, writeModel } from '../src/onnx/io.js';
import { formatTag, quantizeWeights, type NBitsFormat } from '../src/quantize/weights.js';
import { ModelRunner } from '../src/runtime/runner.js';
import { execSync } from 'node:child_process';
import { SMOLLM2_135M, benchDir, randomModel } from './models.js';
import { quantizedQuality, quantizedSpeed } from './quantized.js';
import { stepRatio, stepper } from './steering.js';

interface RefSeq { ids: number[]; logits_last: number[]; argmax_per_position: number[] }
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const shared = process.env.ONNX_STEER_SHARED ?? join(import.meta.dirname, '..', '..', 'shared');

function parseFormat(s: string): NBitsFormat {
  const m = /^b(\d+)-(sym|zp)$/.exec(s);
  if (!m) throw new Error(`format "${s}" is not b<block>-sym|zp`);
  return { bits: 4, block: Number(m[1]), zeroPoints: m[2] === 'zp', accuracyLevel: 4 };
}

/** The fp32 build re-quantized with `format`, cached in the bench directory by its tag. */
function requantized(fp32Dir: string, name: string, format: NBitsFormat): string {
  const dir = join(benchDir(), `${name}-${formatTag('int4', format)}`);
  if (existsSync(join(dir, 'hooks.json'))) return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const { model } = readModel(join(fp32Dir, 'model.onnx'));
  quantizeWeights(model, fp32Dir, 'int4', format);
  writeModel(model, join(tmp, 'model.onnx'), { externalData: 'always', sourceDir: fp32Dir });
  for (const f of readdirSync(fp32Dir)) if (!f.startsWith('model.onnx')) cpSync(join(fp32Dir, f), join(tmp, f));
  renameSync(tmp, dir);
  return dir;
}

async function logitsVsReference(dir: string): Promise<{ maxDiffShare: number; argmaxAgreement: number }> {
  const ref = JSON.parse(readFileSync(join(shared, 'fixtures', 'reference', 'tinystories-656k.reference.json'), 'utf8')) as { sequences: RefSeq[] };
  const runner = await ModelRunner.open(dir, { intraOpNumThreads: 1 });
  let worst = 0; let agree = 0; let positions = 0;
  try {
    const V = runner.manifest.vocabSize ?? 0;
    for (const seq of ref.sequences) {
      const out = await runner.forward({ ids: seq.ids, batch: 1, seqLen: seq.ids.length, cache: runner.emptyCache(1) });
      const logits = out.logits?.data ?? new Float32Array();
      const last = logits.subarray((seq.ids.length - 1) * V, seq.ids.length * V);
      const scale = Math.max(...seq.logits_last.map(Math.abs));
      for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs((last[i] as number) - (seq.logits_last[i] as number)) / scale);
      for (let p = 0; p < seq.ids.length; p++) {
        const row = logits.subarray(p * V, (p + 1) * V);
        let best = 0;
        for (let i = 1; i < V; i++) if ((row[i] as number) > (row[best] as number)) best = i;
        if (best === seq.argmax_per_position[p]) agree++;
        positions++;
      }
    }
  } finally {
    await runner.release();
  }
  return { maxDiffShare: worst, argmaxAgreement: agree / positions };
}

async function main(): Promise<void> {
  const fp32 = await defaultModelDir();
  const formats = (arg('formats') ?? 'b32-sym,b32-zp,b64-sym,b64-zp,b128-sym,b128-zp').split(',').map(parseFormat);
  const rows: string[] = ['| format | max abs Δ logit ÷ max abs logit | argmax agreement | greedy prefix (of 60) | perplexity ratio |', '|---|---|---|---|---|'];
  const base = await logitsVsReference(fp32);
  rows.push(`| fp32 | ${base.maxDiffShare.toExponential(1)} | ${base.argmaxAgreement.toFixed(3)} | 60 | 1 |`);
  for (const f of formats) {
    const dir = requantized(fp32, 'tinystories-656k', f);
    const l = await logitsVsReference(dir);
    const q = await quantizedQuality(fp32, dir, 'int4', { texts: 64, prompts: 0, samples: 0, joy: false });
    process.stdout.write(`${JSON.stringify({ format: formatTag('int4', f), ...l, greedyPrefix: q.greedyPrefix, perplexity: q.perplexity, fp32Perplexity: q.fp32Perplexity, perplexityRatio: q.perplexityRatio })}\n`);
    rows.push(`| ${formatTag('int4', f)} | ${l.maxDiffShare.toFixed(3)} | ${l.argmaxAgreement.toFixed(3)} | ${q.greedyPrefix} | ${q.perplexityRatio.toFixed(3)} |`);
  }
  process.stdout.write(`${rows.join('\n')}\n`);
  if (process.argv.includes('--decode')) await decode(formats);
}

async function decode(formats: NBitsFormat[]): Promise<void> {
  const runs = Number(arg('runs') ?? 5);
  const tokens = Number(arg('tokens') ?? 32);
  const up = () => execSync('uptime').toString().trim();
  const hooked = await randomModel('smollm2-135m', SMOLLM2_135M, 'all');
  const dirs = formats.map((f) => requantized(hooked, 'smollm2-135m-hooked', f));
  process.stdout.write(`uptime: ${up()}\n`);
  const rows = ['| format (SmolLM2 shape, 1 thread) | decode ÷ fp32, CPU (min–max) | wall | ÷ first format, CPU (min–max) | wall |', '|---|---|---|---|---|'];
  const first = await ModelRunner.open(dirs[0] ?? '', { intraOpNumThreads: 1 });
  const rounds = Math.max(5, 2 * runs + 1);
  for (const [i, f] of formats.entries()) {
    const s = await quantizedSpeed('smollm2-135m shape', hooked, dirs[i] ?? '', 'int4', tokens, runs);
    const other = await ModelRunner.open(dirs[i] ?? '', { intraOpNumThreads: 1 });
    const vsFirst = await stepRatio(await stepper(other, 1), await stepper(first, 1), rounds, tokens);
    await other.release();
    process.stdout.write(`${JSON.stringify({ format: formatTag('int4', f), vsFp32: s.vsFp32, vsFirst })}\n`);
    const r = (x: { median: number; min: number; max: number }) => `${x.median.toFixed(2)} (${x.min.toFixed(2)}–${x.max.toFixed(2)})`;
    rows.push(`| ${formatTag('int4', f)} | ${r(s.vsFp32.cpu)} | ${s.vsFp32.median.toFixed(2)} | ${r(vsFirst.cpu)} | ${vsFirst.median.toFixed(2)} |`);
  }
  await first.release();
  process.stdout.write(`uptime: ${up()}\n${rows.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`int4-quality bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
