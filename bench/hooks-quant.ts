/**
 * The hook-cost and quantization figures on their own, without the rest of
 * `npm run bench` (which runs them too, in its `steering` and `quantized`
 * sections):
 *
 *   npx tsx bench/hooks-quant.ts [--smollm2] [--runs=3] [--tokens=32] [--threads=1,2]
 *
 * Prints one JSON line per figure with `uptime` before and after, so a
 * reader sees the load the figures were taken under. The default model
 * always; `--smollm2` adds the SmolLM2-135M shape (random init; builds it
 * and its int8/int4 variants once into the bench cache). `--threads` lists
 * the intra-op thread counts of the SmolLM2 quantized ÷ fp32 decode ratios
 * (default 1: CPU time is then the work per token).
 */
import { execSync } from 'node:child_process';
import { join } from 'node:path';
import { defaultModelDir } from '../src/model/default-model.js';
import { SMOLLM2_135M, benchDir, defaultPlainModel, randomModel } from './models.js';
import { defaultQuantized, quantizedModel, quantizedQuality, quantizedSpeed } from './quantized.js';
import { steeringOverhead } from './steering.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(arg('runs') ?? 3);
const tokens = Number(arg('tokens') ?? 32);
const threads = (arg('threads') ?? '1').split(',').map(Number);
const up = () => process.stdout.write(`uptime: ${execSync('uptime').toString().trim()}\n`);
const line = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);

async function main(): Promise<void> {
  up();
  const tiny = await defaultModelDir();
  line(await steeringOverhead('tinystories-656k', tiny, await defaultPlainModel(), Math.max(tokens, 64), { warmup: 1, runs }));
  for (const scheme of ['int8', 'int4'] as const) {
    line(await quantizedQuality(tiny, await defaultQuantized(scheme), scheme, { texts: 64, prompts: 40, samples: 4, joy: scheme === 'int8' }));
    line(await quantizedSpeed('tinystories-656k', tiny, await defaultQuantized(scheme), scheme, Math.max(tokens, 64), runs));
  }
  up();
  if (process.argv.includes('--smollm2')) {
    const hooked = await randomModel('smollm2-135m', SMOLLM2_135M, 'all');
    const post = await randomModel('smollm2-135m', SMOLLM2_135M, 'post');
    const plain = await randomModel('smollm2-135m', SMOLLM2_135M, 'none');
    const cfg = join(benchDir(), 'smollm2-135m-config');
    for (const t of threads) {
      for (const scheme of ['int8', 'int4'] as const) {
        line(await quantizedSpeed('smollm2-135m shape', hooked, await quantizedModel('smollm2-135m-hooked', cfg, scheme, true), scheme, tokens, runs, t));
      }
    }
    line(await steeringOverhead('smollm2-135m shape, hook_resid_post only', post, plain, tokens, { warmup: 1, runs }));
    line(await steeringOverhead('smollm2-135m shape, all sites', hooked, plain, tokens, { warmup: 1, runs }));
    up();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`hooks-quant bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
