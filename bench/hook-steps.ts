/**
 * Per-step decode time of the default model's hooked runner (steering on
 * every block's hook_resid_post, and unused) and of its unhooked build, each
 * timed alone over 2,000 consecutive steps after 200 warm-up steps (no
 * interleaving), at one intra-op thread; wall and process CPU time per step,
 * and the GC pauses (count, total ms) observed while each runner is timed.
 * A diagnostic beside bench/hooks-quant.ts's interleaved ratios: it shows
 * whether a gap is per-step work or comes from alternating sessions.
 *
 *   npx tsx bench/hook-steps.ts
 */
import { execSync } from 'node:child_process';
import { PerformanceObserver } from 'node:perf_hooks';
import { ModelRunner } from '../src/runtime/runner.js';
import { defaultModelDir } from '../src/model/default-model.js';
import { defaultPlainModel } from './models.js';
import { stepper } from './steering.js';
const one = { intraOpNumThreads: 1 };
const hooked = await ModelRunner.open(await defaultModelDir(), one);
const plain = await ModelRunner.open(await defaultPlainModel(), one);
const H = hooked.manifest.hiddenSize;
const plan = Array.from({ length: hooked.manifest.numBlocks }, (_, b) => ({ site: `blocks.${b}.hook_resid_post`, vector: Float32Array.from({ length: H }, (_, i) => Math.sin(i + b) * 0.01), strength: 1 }));
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
// GC pauses seen by the main thread while each runner is timed (count and ms).
const gc = { count: 0, ms: 0 };
new PerformanceObserver((list) => { for (const e of list.getEntries()) { gc.count++; gc.ms += e.duration; } }).observe({ entryTypes: ['gc'] });
const load = () => execSync('uptime').toString().trim();
console.log(JSON.stringify({ uptimeBefore: load() }));
for (const batch of [1, 8]) {
  const s = { active: await stepper(hooked, batch, plan), unused: await stepper(hooked, batch), plain: await stepper(plain, batch), active2: await stepper(hooked, batch, plan), plain2: await stepper(plain, batch) };
  for (const [k, f] of Object.entries(s)) {
    for (let i = 0; i < 200; i++) await f();
    await new Promise((r) => setTimeout(r, 0));
    gc.count = 0;
    gc.ms = 0;
    const t = performance.now();
    const c = cpu();
    for (let i = 0; i < 2000; i++) await f();
    console.log(JSON.stringify({ batch, runner: k, wallMsPerStep: (performance.now() - t) / 2000, cpuMsPerStep: (cpu() - c) / 2000, gcPauses: gc.count, gcMs: gc.ms }));
  }
}
console.log(JSON.stringify({ uptimeAfter: load() }));
await hooked.release();
await plain.release();
