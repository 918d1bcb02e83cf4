/** Renders bench results as BENCHMARKS.md: figures, targets, and the hand-written analysis. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResults } from './run.js';
import type { Summary } from './stats.js';
import { renderServer, type ServerSection } from './server.js';

const f = (s: Summary | undefined, d = 1) => (s ? `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})` : 'n/a');

type Row = Record<string, unknown>;
const list = (r: BenchResults, k: string) => (r.sections[k] as Row[] | undefined) ?? [];

function target(name: string, value: number | undefined, ok: (v: number) => boolean, goal: string): string {
  if (value === undefined || Number.isNaN(value)) return `| ${name} | n/a | ${goal} | not measured |`;
  return `| ${name} | ${value.toFixed(3)} | ${goal} | ${ok(value) ? 'met' : '**missed**'} |`;
}

export function renderMarkdown(r: BenchResults): string {
  const L: string[] = [];
  const m = r.machine;
  L.push('# Benchmarks', '');
  L.push(`Measured ${r.date.slice(0, 10)} by \`npm run bench\` on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, onnxruntime-node ${m.onnxruntime}, CPU execution provider, default intra-op threads unless noted.`);
  L.push('Every figure is the median over 5 runs after a warm-up, shown as median (min–max). Every comparison is a ratio measured pair by pair in the same run, alternating A B A B. Random-init models are built with `onnx-steer build --random-init` (weights do not affect speed). Raw numbers: `bench/results.json`.', '');

  L.push('## Prefill', '', '| model | prompt tokens | tokens/s |', '|---|---|---|');
  for (const p of list(r, 'prefill')) L.push(`| ${String(p.model)} | ${String(p.promptTokens)} | ${f(p.tokensPerSec as Summary)} |`);

  L.push('', '## Decoding', '', 'Sampling at temperature 1 from a 16-token prompt; n = 8 decodes 8 candidates as one batch.', '');
  L.push('| model | new tokens | batch 1 tokens/s | n = 8 tokens/s (all rows) | wall time n = 8 ÷ n = 1 |', '|---|---|---|---|---|');
  for (const d of list(r, 'decode')) L.push(`| ${String(d.model)} | ${String(d.newTokens)} | ${f(d.batch1TokensPerSec as Summary)} | ${f(d.batch8TokensPerSec as Summary)} | ${f(d.ratioN8toN1 as Summary, 2)} |`);

  L.push('', '## Steering overhead', '', 'Decode tokens/s relative to the same weights built without hooks, interleaved per decode step (each round: the decode length on A, then on B, over a fixed 16-token cache; median over ≥ 5 rounds), one intra-op thread. "Active": a steering vector on `hook_resid_post` of every block. "Unused": the hooked model with no plan. "Policy" is what the runtime default (`auto`) chose: fitted sessions (a graph per recurring kind of step with exactly its hook operators; the unhooked graph when nothing is fed) under 64 MiB of weights, tiered (one lean graph with steering adds at every site) above; "other" is the policy it did not choose; "full graph" runs the file\'s graph for every step, as the runtime did before. Wall-clock ratio, then the same ratio in process CPU time. Nodes: what onnxruntime executes per step after its optimisations.', '');
  L.push('| model | sites | policy | unused b1 | active b1 | unused b8 | active b8 | other policy: unused / active b1 | full graph unused | full graph active | nodes plain / lean / fitted (active) / full |', '|---|---|---|---|---|---|---|---|---|---|---|');
  const g = (x: unknown) => { const s = x as (Summary & { cpu?: Summary }) | undefined; return s ? `${s.median.toFixed(3)}${s.cpu ? ` (cpu ${s.cpu.median.toFixed(3)})` : ''}` : 'n/a'; };
  for (const s of list(r, 'steering')) {
    const b8 = s.batch8 as Row | undefined; const fg = s.fullGraph as Row | undefined; const n = s.nodes as Row | undefined; const o = s.other as Row | undefined;
    const other = o ? `${String(o.policy)}: ${g(o.unused)} / ${g(o.active)}` : 'n/a';
    L.push(`| ${String(s.model)} | ${String((n?.sites as number | undefined) ?? '')} | ${typeof s.policy === 'string' ? s.policy : 'tiered'} | ${g(s.unusedVsPlain)} | ${g(s.activeVsPlain)} | ${g(b8?.unused)} | ${g(b8?.active)} | ${other} | ${g(fg?.unused)} | ${g(fg?.active)} | ${n ? `${String(n.plain)} / ${String(n.lean)} / ${typeof n.fitted === 'number' ? String(n.fitted) : 'n/a'} / ${String(n.full)}` : 'n/a'} |`);
  }

  const quant = r.sections.quantized as { quality: Row[]; speed: Row[] } | undefined;
  if (quant) {
    L.push('', '## Quantized builds', '', '`onnx-steer build --quantize int8|int4` against the fp32 build of the same weights. Speed: batch-1 decode, interleaved per step, one intra-op thread (wall clock, then CPU time). Quality on the default model: greedy ids from BOS (60 tokens) against fp32, perplexity on the first 64 `chosen` texts of the shared preference pairs, and the shipped joy vector\'s VADER shift (strength 2 minus unsteered, held-out prompts, 4 samples each, temperature 0.8) on int8 against fp32.', '');
    L.push('| model | scheme | decode ÷ fp32 |', '|---|---|---|');
    for (const q of quant.speed) L.push(`| ${String(q.model)} | ${String(q.scheme)} | ${g(q.vsFp32)} |`);
    L.push('', '| scheme | greedy prefix equal to fp32 (of 60) | perplexity | fp32 perplexity | ratio | joy shift (quantized / fp32) |', '|---|---|---|---|---|---|');
    for (const q of quant.quality) {
      const j = q.joyShift as Row | undefined;
      L.push(`| ${String(q.scheme)} | ${String(q.greedyPrefix)} | ${(q.perplexity as number).toFixed(2)} | ${(q.fp32Perplexity as number).toFixed(2)} | ${(q.perplexityRatio as number).toFixed(3)} | ${j ? `${(j.quantized as number).toFixed(3)} / ${(j.fp32 as number).toFixed(3)} = ${(j.ratio as number).toFixed(2)}` : 'n/a'} |`);
    }
  }

  L.push('', '## Against transformers.js', '', 'The same unhooked `onnx/model.onnx`, greedy, batch 1, same prompt ids, run by onnx-steer and by `@huggingface/transformers` (local files only).', '');
  L.push('| model | new tokens | onnx-steer tokens/s | transformers.js tokens/s | ratio | greedy ids identical |', '|---|---|---|---|---|---|');
  for (const t of list(r, 'transformersjs')) L.push(`| ${String(t.model)} | ${String(t.newTokens)} | ${f(t.oursTokensPerSec as Summary)} | ${f(t.theirsTokensPerSec as Summary)} | ${f(t.ratio as Summary, 3)} | ${t.idsIdentical ? 'yes' : `no (${JSON.stringify(t.firstMismatch)})`} |`);

  const peer = r.sections.llamacpp as { pairs?: Row[]; uptime?: { before: string; after: string } } | undefined;
  if (peer?.pairs?.length) {
    L.push('', '## Against llama.cpp on the same weights', '', 'One build of a model (the SmolLM2-135M shape with a 2048-token vocabulary, random init, 107M parameters), run by onnx-steer (ONNX) and by llama.cpp through node-llama-cpp 3.21.1 (our GGUF export of the same build, F32 and Q8_0; F32 KV cache, flash attention off); batch-1 greedy decode from the same 16 prompt ids, 2 threads each, prefill excluded; A B A B, ratio = onnx-steer tokens/s ÷ llama.cpp tokens/s per round (`bench/llamacpp.ts`). CPU time counts every thread of the process, spin-waiting included.', '');
    L.push('| pair | new tokens | onnx-steer tokens/s | llama.cpp tokens/s | ratio (wall) | ratio (CPU time) | greedy ids identical |', '|---|---|---|---|---|---|---|');
    for (const p of peer.pairs) {
      const o = p.ours as Row; const t = p.theirs as Row; const gr = p.greedy as Row;
      L.push(`| ${String(p.figure)}, ${String(p.model)} | ${String(p.newTokens)} | ${f(o.tokensPerSec as Summary)} | ${f(t.tokensPerSec as Summary)} | ${f(p.wallRatio as Summary, 3)} | ${f(p.cpuRatio as Summary, 3)} | ${gr.identical ? 'yes' : `no, first ${String(gr.agreePrefix)} equal`} |`);
    }
    if (peer.uptime) L.push('', `uptime before: \`${peer.uptime.before}\`; after: \`${peer.uptime.after}\`.`);
  }

  L.push('', '## Extraction', '', '`extractVector` with mean-diff at `blocks.0.hook_resid_post` on the shipped joy pairs (held-out separability included), against bare forward passes over the same sequences in the same batches.', '');
  L.push('| model | pairs | pairs/s | extract ÷ bare forward |', '|---|---|---|---|');
  for (const x of list(r, 'extraction')) L.push(`| ${String(x.model)} | ${String(x.pairs)} | ${f(x.pairsPerSec as Summary)} | ${f(x.ratio as Summary, 3)} |`);

  L.push('', '## MBR utility matrix', '', 'N candidates from one batched generate(); the `hidden` utility is the cosine matrix of their mean-pooled activations at the last block.', '');
  L.push('| model | N | new tokens | generation ms | matrix ms | matrix ÷ generation | capture + matrix ÷ generation |', '|---|---|---|---|---|---|---|');
  for (const x of list(r, 'mbr')) L.push(`| ${String(x.model)} | ${String(x.n)} | ${String(x.newTokens)} | ${f(x.generateMs as Summary)} | ${f(x.hiddenMatrixMs as Summary, 2)} | ${f(x.matrixToGenerate as Summary, 4)} | ${f(x.captureAndMatrixToGenerate as Summary, 3)} |`);

  const threads = list(r, 'threads');
  L.push('', '## Thread scaling', '', '| model | new tokens | 1 thread tokens/s | 2 threads tokens/s | speed-up |', '|---|---|---|---|---|');
  for (const t of threads) L.push(`| ${String(t.model)} | ${String(t.newTokens)} | ${f(t.oneThreadTokensPerSec as Summary)} | ${f(t.twoThreadsTokensPerSec as Summary)} | ${f(t.speedup as Summary, 2)} |`);

  const hw = r.sections.hardware as { model: string; weightBytes: number; copyGBps: Summary; boundTokensPerSec: number; readGBps?: Summary; readBoundTokensPerSec?: number } | undefined;
  const decode = list(r, 'decode');
  const b1 = decode.find((d) => d.model === hw?.model && d.newTokens === 64)?.batch1TokensPerSec as Summary | undefined;
  if (hw) {
    L.push('', '## Hardware bound', '');
    L.push(`Weights read per decoded token: ${(hw.weightBytes / 2 ** 20).toFixed(1)} MiB (${hw.model}). Copy bandwidth (512 MiB typed-array copy, read + write): ${f(hw.copyGBps)} GB/s. Bound at batch 1: ${hw.boundTokensPerSec.toFixed(1)} tokens/s. Achieved: ${b1 ? `${b1.median.toFixed(1)} tokens/s = ${((100 * b1.median) / hw.boundTokensPerSec).toFixed(0)}% of the bound` : 'n/a'}.`);
    if (hw.readGBps && hw.readBoundTokensPerSec) L.push('', `Read-only bandwidth (WebAssembly SIMD sum over 1 GiB, one thread, bench/read-kernel.ts): ${f(hw.readGBps)} GB/s. Bound at batch 1: ${hw.readBoundTokensPerSec.toFixed(1)} tokens/s. Achieved: ${b1 ? `${((100 * b1.median) / hw.readBoundTokensPerSec).toFixed(0)}% of the read-only bound` : 'n/a'} (target ≥ 90%).`);
  }

  const mem = (r.sections.memory as Row[] | undefined) ?? [];
  if (mem.length) {
    L.push('', '## Memory', '', 'Peak RSS of one operation in a child process (VmHWM), SmolLM2-135M shape, fp32. Target: ≤ 1.5 × model size + 200 MB.', '');
    L.push('| operation | model MB | peak RSS MB | peak ÷ size | within target |', '|---|---|---|---|---|');
    for (const x of mem) L.push(`| ${String(x.operation)} | ${String(x.modelMB)} | ${String(x.peakRssMB)} | ${String(x.ratio)} | ${x.withinBudget ? 'yes' : 'no'} |`);
  }

  L.push(...renderServer(r.sections.server as ServerSection[] | undefined));

  const smol = (k: string) => list(r, k).find((x) => String(x.model).startsWith('smollm2') && !String(x.model).includes('only'));
  const smolPost = list(r, 'steering').find((x) => String(x.model).includes('hook_resid_post only'));
  const n8 = list(r, 'decode').find((d) => String(d.model).startsWith('smollm2') && d.newTokens === 64);
  L.push('', '## Targets', '', '| figure | measured (median) | target | status |', '|---|---|---|---|');
  L.push(target('steering active ÷ no hooks (SmolLM2 shape)', (smol('steering')?.activeVsPlain as Summary | undefined)?.median, (v) => v >= 0.97, '≥ 0.97'));
  L.push(target('hooks unused ÷ no hooks (SmolLM2 shape)', (smol('steering')?.unusedVsPlain as Summary | undefined)?.median, (v) => v >= 0.99, '≥ 0.99'));
  L.push(target('steering active ÷ no hooks (SmolLM2 shape, hook_resid_post sites only)', (smolPost?.activeVsPlain as Summary | undefined)?.median, (v) => v >= 0.97, '≥ 0.97'));
  L.push(target('hooks unused ÷ no hooks (SmolLM2 shape, hook_resid_post sites only)', (smolPost?.unusedVsPlain as Summary | undefined)?.median, (v) => v >= 0.99, '≥ 0.99'));
  L.push(target('onnx-steer ÷ transformers.js tokens/s (SmolLM2 shape)', (smol('transformersjs')?.ratio as Summary | undefined)?.median, (v) => v >= 1.1, '≥ 1.1'));
  for (const p of peer?.pairs ?? []) L.push(target(`onnx-steer ${String(p.figure)} (decode tokens/s, same weights)`, (p.wallRatio as Summary | undefined)?.median, (v) => v >= 1.0, '≥ 1.0'));
  L.push(target('wall time N = 8 ÷ N = 1, 64 tokens (SmolLM2 shape)', (n8?.ratioN8toN1 as Summary | undefined)?.median, (v) => v <= 2.0, '≤ 2.0 (≤ 2.5 for the runtime issue)'));
  L.push(target('extract ÷ bare forward (default model)', (list(r, 'extraction')[0]?.ratio as Summary | undefined)?.median, (v) => v <= 1.2, '≤ 1.2'));
  L.push(target('MBR matrix ÷ generation, N = 64 (default model)', (list(r, 'mbr')[0]?.matrixToGenerate as Summary | undefined)?.median, (v) => v <= 0.05, '≤ 0.05'));
  for (const x of mem) L.push(target(`memory: ${String(x.operation)} (peak ÷ size)`, x.ratio as number, () => Boolean(x.withinBudget), '≤ 1.5 + 200 MB'));

  const errors = Object.entries(r.errors);
  if (errors.length) L.push('', '## Failed sections', '', ...errors.map(([k, v]) => `- ${k}: ${v}`));
  const analysis = join(import.meta.dirname, 'analysis.md');
  if (existsSync(analysis)) L.push('', readFileSync(analysis, 'utf8').trim());
  return `${L.join('\n')}\n`;
}
