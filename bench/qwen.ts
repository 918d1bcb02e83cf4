/**
 * Batch-1 decode on the Qwen2.5-0.5B shape (random init, every hook site):
 * fp32 and int8 (and int4) hooked builds, tokens/s per build and the
 * quantized ÷ fp32 ratio measured A B A B per decode step (see steering.ts),
 * at one intra-op thread, in wall and process CPU time.
 *
 *   npx tsx bench/qwen.ts [--runs=3] [--tokens=16] [--int4]
 *
 * Builds the models once into the bench cache (about 2 GB for fp32).
 */
import { execSync } from 'node:child_process';
import { join } from 'node:path';
import { QWEN25_05B, benchDir, randomModel } from './models.js';
import { quantizedModel, quantizedSpeed } from './quantized.js';
import { ModelRunner } from '../src/runtime/runner.js';
import { stepper } from './steering.js';
import { weightBytes } from './hardware.js';
import { summarize } from './stats.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(arg('runs') ?? 3);
const tokens = Number(arg('tokens') ?? 16);
const line = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);
const up = () => line({ uptime: execSync('uptime').toString().trim() });

/** Decode tokens/s at batch 1, one intra-op thread: wall and CPU-time medians over rounds of `tokens` steps. */
async function tokensPerSec(dir: string): Promise<{ wall: number; cpu: number }> {
  const r = await ModelRunner.open(dir, { intraOpNumThreads: 1 });
  const step = await stepper(r, 1);
  for (let i = 0; i < 2; i++) await step();
  const wall: number[] = [];
  const cpuT: number[] = [];
  for (let k = 0; k < Math.max(5, runs); k++) {
    const t = performance.now();
    const c = process.cpuUsage();
    for (let i = 0; i < tokens; i++) await step();
    const u = process.cpuUsage(c);
    wall.push((tokens * 1000) / (performance.now() - t));
    cpuT.push((tokens * 1e6) / (u.user + u.system));
  }
  await r.release();
  return { wall: summarize(wall).median, cpu: summarize(cpuT).median };
}

async function main(): Promise<void> {
  up();
  const fp32 = await randomModel('qwen25-0.5b', QWEN25_05B, 'all');
  const cfg = join(benchDir(), 'qwen25-0.5b-config');
  const schemes = process.argv.includes('--int4') ? (['int8', 'int4'] as const) : (['int8'] as const);
  const builds: Record<string, string> = { fp32 };
  for (const s of schemes) builds[s] = await quantizedModel('qwen25-0.5b-hooked', cfg, s, true);
  if (process.argv.includes('--build-only')) return;
  for (const [name, dir] of Object.entries(builds)) line({ model: 'qwen2.5-0.5b shape', build: name, weightBytes: weightBytes(dir), tokensPerSec: await tokensPerSec(dir) });
  for (const s of schemes) line(await quantizedSpeed('qwen2.5-0.5b shape', fp32, builds[s] ?? '', s, tokens, runs));
  up();
}

main().catch((err: unknown) => {
  process.stderr.write(`qwen bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
