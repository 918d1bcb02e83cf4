/**
 * Why onnx-steer and llama.cpp differ on the same weights (the experiment
 * behind the llama.cpp rows of BENCHMARKS.md):
 *
 *   npx tsx bench/llamacpp-threads.ts [--runs=5] [--tokens=32] [--threads=1,2]
 *
 * For each thread count, the same A B A B decode comparison as
 * bench/llamacpp.ts (fp32 vs F32, int8 vs Q8_0), plus, per engine and
 * build, the time per decoded token three ways:
 * - wall clock through each library's API (what bench/llamacpp.ts ratios);
 * - process CPU time per token (at 1 thread neither engine has a pool to
 *   spin, so this is the work per token and is little affected by load);
 * - for llama.cpp, its own `llama_decode` time per single-token evaluation
 *   (llama.cpp's perf counters, `eval time … runs`), so the share of the wall
 *   time spent in node-llama-cpp's JavaScript, sampling and scheduling is
 *   the difference.
 * And each engine's effective weight stream (bytes of its weight file ÷ time
 * per token), to compare against the read bandwidth in BENCHMARKS.md.
 * One JSON line per thread count and pair, `uptime` before and after.
 */
import { statSync } from 'node:fs';
import { weightBytes } from './hardware.js';
import { PROMPT, comparePair, llamaCppDecoder, loadLlamaCpp, onnxSteerDecoder, prepareSameWeights, uptime } from './llamacpp.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const runs = Number(arg('runs') ?? 5);
const tokens = Number(arg('tokens') ?? 32);
const threadList = (arg('threads') ?? '1,2').split(',').map(Number);
const line = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);

/** The last `eval time = X ms / N runs` llama.cpp printed (cumulative for the context). */
function lastEval(log: string): { ms: number; runs: number } | undefined {
  const all = [...log.matchAll(/\beval time =\s*([\d.]+) ms \/\s*(\d+) runs/g)];
  const m = all[all.length - 1];
  return m ? { ms: Number(m[1]), runs: Number(m[2]) } : undefined;
}

async function main(): Promise<void> {
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(tokens) || tokens < 1 || threadList.some((t) => !Number.isInteger(t) || t < 1)) {
    throw new Error('--runs, --tokens and --threads must be positive integers');
  }
  line({ bench: 'llamacpp-threads', figure: 'uptime', when: 'before', uptime: uptime() });
  const m = await prepareSameWeights(process.argv.includes('--smoke'), false);
  let log = '';
  const engine = await loadLlamaCpp((text) => { log += text; });
  const pairs = [
    { name: 'fp32 vs F32', dir: m.fp32, gguf: m.gguf.f32 },
    { name: 'int8 vs Q8_0', dir: m.int8, gguf: m.gguf.q8_0 },
  ];
  for (const threads of threadList) {
    for (const p of pairs) {
      const ours = await onnxSteerDecoder(p.dir, threads);
      const theirs = await llamaCppDecoder(engine, p.gguf, threads, PROMPT.length + tokens + 16, true);
      try {
        const r = await comparePair(p.name, m.label, { decode: ours.decode, build: p.dir, engine: 'onnx-steer' }, { decode: theirs.decode, gguf: p.gguf, engine: 'llama.cpp' }, { runs, tokens, threads });
        log = '';
        await theirs.context.printTimings();
        const ev = lastEval(log);
        const oursMs = 1000 / r.ours.tokensPerSec.median;
        const theirsMs = 1000 / r.theirs.tokensPerSec.median;
        const oursBytes = weightBytes(p.dir);
        const theirsBytes = statSync(p.gguf).size;
        line({
          bench: 'llamacpp-threads', model: m.label, pair: p.name, threads, newTokens: tokens, runs,
          ratio: { wall: r.wallRatio.median, cpu: r.cpuRatio.median, wallRange: [r.wallRatio.min, r.wallRatio.max] },
          msPerToken: {
            onnxSteer: { wall: oursMs, cpu: r.ours.cpuMsPerToken.median },
            llamaCpp: { wall: theirsMs, cpu: r.theirs.cpuMsPerToken.median, llamaDecode: ev ? ev.ms / ev.runs : null, llamaDecodeRuns: ev?.runs ?? null },
          },
          // bytes of each engine's weights ÷ wall time per token (the stream each engine sustains)
          weightGBps: { onnxSteer: oursBytes / oursMs / 1e6, llamaCpp: theirsBytes / theirsMs / 1e6, onnxSteerBytes: oursBytes, llamaCppBytes: theirsBytes },
          greedyIdentical: r.greedy.identical,
        });
      } finally {
        await ours.close();
        await theirs.close();
      }
    }
  }
  line({ bench: 'llamacpp-threads', figure: 'uptime', when: 'after', uptime: uptime() });
  await engine.llama.dispose();
}

main().catch((err: unknown) => {
  process.stderr.write(`llamacpp-threads bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
