/**
 * Batch-1 fp32 decode as a share of the machine's memory bandwidth, measured
 * interleaved so that other load hits both sides alike: each round runs the
 * read-only kernel (bench/read-kernel.ts, one thread, 1 GiB), a 512 MiB
 * typed-array copy, and `tokens` decode steps at one intra-op thread. The
 * share is (weight bytes × tokens/s) ÷ read GB/s, per round, median over
 * rounds; wall time and process CPU time (the share of the bandwidth while
 * the thread is on a core) are both reported.
 *
 *   npx tsx bench/bandwidth.ts [--rounds=7] [--tokens=16] [--model=<dir>]
 *
 * Default model: the SmolLM2-135M shape with every hook site (random init,
 * built once into the bench cache; its weights are larger than the caches).
 */
import { execSync } from 'node:child_process';
import { ModelRunner } from '../src/runtime/runner.js';
import { copyBandwidth, weightBytes } from './hardware.js';
import { SMOLLM2_135M, randomModel } from './models.js';
import { readKernel } from './read-kernel.js';
import { stepper } from './steering.js';
import { summarize, type Summary } from './stats.js';

export interface DecodeShare {
  model: string;
  weightBytes: number;
  tokens: number;
  rounds: number;
  readGBps: Summary;
  readCpuGBps: Summary;
  copyGBps: Summary;
  decodeTokensPerSec: Summary;
  /** decode bytes/s ÷ read-kernel bytes/s, per round (wall). */
  readShare: Summary;
  /** The same in CPU time (each side's bytes per CPU second). */
  readShareCpu: Summary;
  copyShare: Summary;
}

const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

export async function decodeShare(label: string, dir: string, rounds: number, tokens: number): Promise<DecodeShare> {
  const bytes = weightBytes(dir);
  const kernel = readKernel(2 ** 30);
  const runner = await ModelRunner.open(dir, { intraOpNumThreads: 1 });
  const step = await stepper(runner, 1);
  for (let i = 0; i < 3; i++) await step();
  kernel.pass();
  const read: number[] = [], readCpu: number[] = [], copy: number[] = [], tps: number[] = [], share: number[] = [], shareCpu: number[] = [], cshare: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    let c = cpuMs();
    kernel.pass();
    const rg = kernel.bytes / (performance.now() - t) / 1e6;
    const rc = kernel.bytes / (cpuMs() - c) / 1e6;
    const cg = copyBandwidth(512 * 2 ** 20, 1).median;
    t = performance.now();
    c = cpuMs();
    for (let i = 0; i < tokens; i++) await step();
    const s = (performance.now() - t) / 1000;
    const sc = (cpuMs() - c) / 1000;
    const dg = (bytes * tokens) / s / 1e9;
    const dc = (bytes * tokens) / sc / 1e9;
    read.push(rg); readCpu.push(rc); copy.push(cg); tps.push(tokens / s);
    share.push(dg / rg); shareCpu.push(dc / rc); cshare.push(dg / cg);
  }
  await runner.release();
  return {
    model: label, weightBytes: bytes, tokens, rounds,
    readGBps: summarize(read), readCpuGBps: summarize(readCpu), copyGBps: summarize(copy), decodeTokensPerSec: summarize(tps),
    readShare: summarize(share), readShareCpu: summarize(shareCpu), copyShare: summarize(cshare),
  };
}

async function main(): Promise<void> {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const up = () => process.stdout.write(`${JSON.stringify({ uptime: execSync('uptime').toString().trim() })}\n`);
  up();
  const model = arg('model');
  const dir = model ?? await randomModel('smollm2-135m', SMOLLM2_135M, 'all');
  const r = await decodeShare(model ?? 'smollm2-135m shape (random init, hooked, no plan)', dir, Number(arg('rounds') ?? 7), Number(arg('tokens') ?? 16));
  process.stdout.write(`${JSON.stringify(r)}\n`);
  up();
}

if (process.argv[1]?.endsWith('bandwidth.ts')) {
  main().catch((err: unknown) => {
    process.stderr.write(`bandwidth bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
