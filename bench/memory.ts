/**
 * Peak memory of building and instrumenting: each operation on a random-init
 * SmolLM2-135M-shaped fp32 model runs in a child process, which reports its
 * peak RSS (VmHWM from /proc/self/status) against the model's size.
 * Target: peak ≤ 1.5 × model size + 200 MB.
 *
 *   npx tsx bench/memory.ts [--keep]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel } from '../src/builder/index.js';
import { instrumentModel } from '../src/instrument/index.js';
import { readModel, writeModel } from '../src/onnx/io.js';
import { SMOLLM2_135M } from './models.js';

const MB = 1024 * 1024;

function vmHwmBytes(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

type Mode = 'build' | 'build-plain' | 'inline' | 'instrument';

/** Runs one measured operation in this (child) process and prints its peak RSS. */
async function child(mode: Mode, input: string, outDir: string): Promise<void> {
  const started = performance.now();
  if (mode === 'build') await buildModel(input, outDir, { randomInit: { seed: 0 }, force: true });
  else if (mode === 'build-plain') await buildModel(input, outDir, { randomInit: { seed: 0 }, force: true, sites: [] });
  else if (mode === 'inline') {
    // Setup: the same weights stored inside model.onnx, as a torch export stores them.
    const src = readModel(join(input, 'model.onnx'));
    mkdirSync(outDir, { recursive: true });
    writeModel(src.model, join(outDir, 'model.onnx'), { sourceDir: src.dir, externalData: 'never' });
  } else await instrumentModel(input, outDir, { force: true });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ peakRss: vmHwmBytes(), seconds })}\n`);
}

function runChild(mode: Mode, input: string, out: string): { peakRss: number; seconds: number } {
  const self = fileURLToPath(import.meta.url);
  const run = spawnSync(process.execPath, [...process.execArgv, self, '--child', mode, input, out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.status !== 0) throw new Error(`${mode} child failed with status ${String(run.status)}`);
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as { peakRss: number; seconds: number };
}

function modelBytes(dir: string): number {
  const data = join(dir, 'model.onnx.data');
  return statSync(join(dir, 'model.onnx')).size + (existsSync(data) ? statSync(data).size : 0);
}

function report(name: string, size: number, m: { peakRss: number; seconds: number }) {
  const budget = 1.5 * size + 200 * MB;
  return {
    operation: name,
    modelMB: +(size / MB).toFixed(1),
    peakRssMB: +(m.peakRss / MB).toFixed(1),
    ratio: +(m.peakRss / size).toFixed(3),
    budgetMB: +(budget / MB).toFixed(1),
    withinBudget: m.peakRss <= budget,
    seconds: +m.seconds.toFixed(2),
  };
}

/** Measures build, and instrument of inline and external-data exports, of the SmolLM2-135M shape. */
export function measureMemory(): ReturnType<typeof report>[] {
  const work = mkdtempSync(join(tmpdir(), 'onnx-steer-memory-'));
  try {
    writeFileSync(join(work, 'config.json'), JSON.stringify(SMOLLM2_135M, null, 2));
    const results = [];
    const built = join(work, 'built');
    const buildRun = runChild('build', work, built);
    results.push(report('build (random init, all hooks)', modelBytes(built), buildRun));
    const plain = join(work, 'plain');
    runChild('build-plain', work, plain);
    const inline = join(work, 'inline');
    runChild('inline', plain, inline);
    results.push(report('instrument (weights inside model.onnx)', modelBytes(inline), runChild('instrument', inline, join(work, 'inst-inline'))));
    results.push(report('instrument (external data)', modelBytes(plain), runChild('instrument', plain, join(work, 'inst-ext'))));
    return results;
  } finally {
    if (!process.argv.includes('--keep')) rmSync(work, { recursive: true, force: true });
  }
}

const i = process.argv.indexOf('--child');
if (i >= 0) {
  await child(process.argv[i + 1] as Mode, process.argv[i + 2] ?? '', process.argv[i + 3] ?? '');
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = measureMemory();
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  if (results.some((r) => !r.withinBudget)) process.exitCode = 1;
}
