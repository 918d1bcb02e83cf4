/**
 * `npm run bench`: runs the benchmarks and writes bench/results.json and
 * BENCHMARKS.md. `npm run bench -- --smoke` runs each benchmark once on the
 * tiny default model (CI uses it so the scripts cannot rot); it asserts no
 * timings.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeFigures, type DecodeFigures } from './generation.js';
import { SMOLLM2_135M, defaultModelDir, randomModel } from './models.js';
import type { Summary } from './stats.js';

const smoke = process.argv.includes('--smoke');
const cfg = smoke ? { warmup: 0, runs: 1 } : { warmup: 1, runs: 5 };

interface Results {
  date: string;
  smoke: boolean;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; onnxruntime: string };
  decode: DecodeFigures[];
}

function fmt(s: Summary, digits = 1): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

async function main(): Promise<void> {
  const results: Results = {
    date: new Date().toISOString(),
    smoke,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, onnxruntime: ort.env.versions.common },
    decode: [],
  };
  const tiny = await defaultModelDir();
  results.decode.push(await decodeFigures('tinystories-656k', tiny, smoke ? 8 : 64, cfg));
  if (!smoke) {
    const smol = await randomModel('smollm2-135m', SMOLLM2_135M);
    results.decode.push(await decodeFigures('smollm2-135m (random init)', smol, 64, cfg));
  }
  const outDir = join(import.meta.dirname);
  writeFileSync(join(outDir, smoke ? 'results.smoke.json' : 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  if (smoke) {
    process.stdout.write(`bench smoke: ${results.decode.length} decode benchmark(s) ran\n`);
    return;
  }
  const lines = [
    '# Benchmarks',
    '',
    `Measured ${results.date.slice(0, 10)} on ${results.machine.cpus} × ${results.machine.cpuModel}, ${results.machine.memoryGiB} GiB, Node ${results.machine.node}, onnxruntime-node ${results.machine.onnxruntime}, CPU execution provider.`,
    'Each figure is the median over 5 runs after a warm-up, with (min–max). Ratios are measured per A/B pair in the same run, alternating A B A B.',
    '',
    '## Decoding',
    '',
    '| model | new tokens | batch 1 tok/s | n = 8 tok/s (all rows) | wall time n = 8 / n = 1 | prefill 16 tokens (ms) |',
    '|---|---|---|---|---|---|',
    ...results.decode.map((d) => `| ${d.model} | ${d.newTokens} | ${fmt(d.batch1TokensPerSec)} | ${fmt(d.batch8TokensPerSec)} | ${fmt(d.ratioN8toN1, 2)} | ${fmt(d.prefillMs)} |`),
    '',
  ];
  writeFileSync(join(outDir, '..', 'BENCHMARKS.md'), `${lines.join('\n')}\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
