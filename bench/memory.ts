/**
 * Peak memory of `buildModel`: builds a random-init SmolLM2-135M-shaped fp32
 * model in a child process and reports the child's peak RSS (VmHWM from
 * /proc/self/status, read at the end of the build) against the size of the
 * weights written. Target: peak ≤ 1.5 × model size + 200 MB.
 *
 *   npx tsx bench/memory.ts [--keep]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel } from '../src/build/index.js';
import { SMOLLM2_135M } from './models.js';

const MB = 1024 * 1024;

function vmHwmBytes(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

async function child(configDir: string, outDir: string): Promise<void> {
  const started = performance.now();
  await buildModel(configDir, outDir, { randomInit: { seed: 0 }, force: true });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ peakRss: vmHwmBytes(), seconds })}\n`);
}

function parent(): void {
  const work = mkdtempSync(join(tmpdir(), 'onnx-steer-memory-'));
  try {
    writeFileSync(join(work, 'config.json'), JSON.stringify(SMOLLM2_135M, null, 2));
    const out = join(work, 'model');
    const self = fileURLToPath(import.meta.url);
    const run = spawnSync(process.execPath, [...process.execArgv, self, '--child', work, out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (run.status !== 0) throw new Error(`build child failed with status ${String(run.status)}`);
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    const { peakRss, seconds } = JSON.parse(line) as { peakRss: number; seconds: number };
    const size = statSync(join(out, 'model.onnx.data')).size + statSync(join(out, 'model.onnx')).size;
    const budget = 1.5 * size + 200 * MB;
    const result = {
      model: 'SmolLM2-135M shape, fp32, random init',
      modelMB: +(size / MB).toFixed(1),
      peakRssMB: +(peakRss / MB).toFixed(1),
      ratio: +(peakRss / size).toFixed(3),
      budgetMB: +(budget / MB).toFixed(1),
      withinBudget: peakRss <= budget,
      buildSeconds: +seconds.toFixed(2),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (!result.withinBudget) process.exitCode = 1;
  } finally {
    if (!process.argv.includes('--keep')) rmSync(work, { recursive: true, force: true });
  }
}

const i = process.argv.indexOf('--child');
if (i >= 0) {
  await child(process.argv[i + 1] ?? '', process.argv[i + 2] ?? '');
} else {
  parent();
}
