/**
 * `npm run bench`: runs every benchmark and writes bench/results.json and
 * BENCHMARKS.md. `npm run bench -- --smoke` runs each benchmark once on the
 * tiny default model so the scripts cannot rot (CI runs it); it asserts no
 * timings and writes bench/results.smoke.json only. `--only=a,b` re-runs some
 * sections and keeps the others; `--report` only re-renders BENCHMARKS.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeFigures, prefillFigures, threadScaling } from './generation.js';
import { copyBandwidth, readBandwidth, weightBytes } from './hardware.js';
import { measureMemory } from './memory.js';
import { SMOLLM2_135M, benchDir, defaultModelDir, defaultPlainModel, randomModel } from './models.js';
import { renderMarkdown } from './report.js';
import { extractionFigures } from './extraction.js';
import { mbrFigures } from './mbr.js';
import { steeringOverhead } from './steering.js';
import { defaultQuantized, quantizedModel, quantizedQuality, quantizedSpeed } from './quantized.js';
import { serverFigures } from './server.js';
import { compareTransformersJs, prepareSharedLayout } from './transformersjs.js';
import { llamaCppFigures } from './llamacpp.js';

const smoke = process.argv.includes('--smoke');
const cfg = smoke ? { warmup: 0, runs: 1 } : { warmup: 1, runs: 5 };
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');

export interface BenchResults {
  date: string;
  smoke: boolean;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; onnxruntime: string };
  sections: Record<string, unknown>;
  errors: Record<string, string>;
}

async function section(results: BenchResults, name: string, fn: () => Promise<unknown>): Promise<void> {
  if (only && !only.includes(name)) return;
  const t = performance.now();
  process.stderr.write(`bench: ${name} …\n`);
  try {
    results.sections[name] = await fn();
  } catch (err) {
    results.errors[name] = (err as Error).message;
    process.stderr.write(`bench: ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.stderr.write(`bench: ${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--report')) {
    // Re-render BENCHMARKS.md from bench/results.json (after editing bench/analysis.md).
    const saved = JSON.parse(readFileSync(join(import.meta.dirname, 'results.json'), 'utf8')) as BenchResults;
    writeFileSync(join(import.meta.dirname, '..', 'BENCHMARKS.md'), renderMarkdown(saved));
    return;
  }
  const results: BenchResults = {
    date: new Date().toISOString(),
    smoke,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, onnxruntime: ort.env.versions.common },
    sections: {},
    errors: {},
  };
  const tiny = await defaultModelDir();
  const tinyPlain = await defaultPlainModel();
  const big = smoke ? undefined : {
    hooked: await randomModel('smollm2-135m', SMOLLM2_135M, 'all'),
    postOnly: await randomModel('smollm2-135m', SMOLLM2_135M, 'post'),
    plain: await randomModel('smollm2-135m', SMOLLM2_135M, 'none'),
  };
  const label = 'smollm2-135m shape (random init)';
  const tokens = smoke ? 4 : 64;

  await section(results, 'prefill', async () => [
    await prefillFigures('tinystories-656k', tiny, smoke ? 16 : 128, cfg),
    ...(big ? [await prefillFigures(label, big.hooked, 128, cfg)] : []),
  ]);
  await section(results, 'decode', async () => {
    const out = [await decodeFigures('tinystories-656k', tiny, tokens, cfg)];
    if (big) {
      out.push(await decodeFigures(label, big.hooked, 64, cfg));
      out.push(await decodeFigures(label, big.hooked, 256, { warmup: 1, runs: 5 }));
    }
    return out;
  });
  await section(results, 'steering', async () => [
    await steeringOverhead('tinystories-656k', tiny, tinyPlain, tokens, cfg),
    ...(big ? [
      await steeringOverhead(label, big.hooked, big.plain, 64, cfg),
      await steeringOverhead(`${label}, hook_resid_post only`, big.postOnly, big.plain, 64, cfg),
    ] : []),
  ]);
  await section(results, 'quantized', async () => {
    const quality = [];
    for (const scheme of ['int8', 'int4'] as const) {
      quality.push(await quantizedQuality(tiny, await defaultQuantized(scheme), scheme, smoke ? { texts: 2, prompts: 1, samples: 1, joy: scheme === 'int8' } : { texts: 64, prompts: 40, samples: 4, joy: scheme === 'int8' }));
    }
    const speed = [];
    for (const scheme of ['int8', 'int4'] as const) {
      speed.push(await quantizedSpeed('tinystories-656k', tiny, await defaultQuantized(scheme), scheme, tokens, cfg.runs));
      if (big) speed.push(await quantizedSpeed(label, big.hooked, await quantizedModel('smollm2-135m-hooked', join(benchDir(), 'smollm2-135m-config'), scheme, true), scheme, 64, cfg.runs));
    }
    return { quality, speed };
  });
  await section(results, 'transformersjs', async () => [
    await compareTransformersJs('tinystories-656k', prepareSharedLayout(tinyPlain, join(benchDir(), 'tjs', 'tinystories-656k')), tokens, cfg),
    ...(big ? [await compareTransformersJs(label, prepareSharedLayout(big.plain, join(benchDir(), 'tjs', 'smollm2-135m')), 64, cfg)] : []),
  ]);
  // The peer on the same weights: llama.cpp (node-llama-cpp) on GGUF exports of a SmolLM2-shaped build (the tiny default model under --smoke).
  await section(results, 'llamacpp', () => llamaCppFigures({ smoke, runs: cfg.runs, tokens, threads: 2, plain: false }));
  await section(results, 'extraction', async () => [await extractionFigures('tinystories-656k', tiny, cfg)]);
  await section(results, 'mbr', async () => [await mbrFigures('tinystories-656k', tiny, cfg, smoke ? { n: 8, newTokens: 8 } : { n: 64, newTokens: 64 })]);
  await section(results, 'threads', async () => [await threadScaling(big ? label : 'tinystories-656k', big?.hooked ?? tiny, tokens, cfg)]);
  await section(results, 'hardware', () => {
    const size = smoke ? 64 * 2 ** 20 : 512 * 2 ** 20;
    const bandwidth = copyBandwidth(size, cfg.runs);
    const read = readBandwidth(smoke ? size : 2 * size, cfg.runs);
    const dir = big?.plain ?? tinyPlain;
    const bytes = weightBytes(dir);
    return Promise.resolve({ model: big ? label : 'tinystories-656k', weightBytes: bytes, copyGBps: bandwidth, boundTokensPerSec: (bandwidth.median * 1e9) / bytes, readGBps: read, readBoundTokensPerSec: (read.median * 1e9) / bytes });
  });
  await section(results, 'server', async () => [
    await serverFigures('tinystories-656k', tiny, smoke ? 4 : 32, cfg),
    ...(big ? [await serverFigures(label, big.hooked, 16, cfg)] : []),
  ]);
  if (!smoke) await section(results, 'memory', () => Promise.resolve(measureMemory()));

  const out = join(import.meta.dirname, smoke ? 'results.smoke.json' : 'results.json');
  if (only && existsSync(out)) {
    // A partial run (--only=…) updates its sections and keeps the others.
    const previous = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
    results.sections = { ...previous.sections, ...results.sections };
    results.errors = { ...previous.errors, ...results.errors };
  }
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  if (smoke) {
    const failed = Object.keys(results.errors);
    process.stdout.write(`bench smoke: ${Object.keys(results.sections).length} sections ran, ${failed.length} failed${failed.length ? ` (${failed.join(', ')})` : ''}\n`);
    if (failed.length) process.exitCode = 1;
    return;
  }
  const md = renderMarkdown(results);
  writeFileSync(join(import.meta.dirname, '..', 'BENCHMARKS.md'), md);
  process.stdout.write(md);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
