/**
 * The quantized batch-1 kernels onnxruntime's CPU EP offers, swept: a chain
 * of weight products applied to one row, rebuilt per configuration from the
 * same fp32 weights, and timed against fp32 `MatMul` in the same rounds.
 *
 * Groups (each has its own fp32 baseline at its thread count, and the
 * current `--quantize int4` configuration, 4-bit block 32 symmetric
 * accuracy_level 4, as a reference):
 * - `accuracy`: 4-bit block 32, accuracy_level 0–4 (0–3 select MLAS's fp32
 *   compute path on x86, 4 its int8 path);
 * - `block`: 4-bit, block 16/32/64/128 × accuracy 0 and 4;
 * - `zero-points`: with and without a zero-point input;
 * - `prepack`: `session.disable_prepacking` on, for fp32, int8 and 4-bit;
 * - `threads`: 2 intra-op threads, spinning on and off, `session.dynamic_block_base`;
 * - `int8`: DynamicQuantizeMatMul (int8 and uint8 weights), MatMulInteger
 *   (the DynamicQuantizeLinear → MatMulInteger → Cast → Mul graph, fused by
 *   onnxruntime at level `all` and unfused at `basic`), 8-bit MatMulNBits
 *   by block, accuracy level and zero points.
 *
 * Per round every variant of the group runs `--reps` chains, forward on even
 * rounds and backward on odd ones (A B … B A); figures are medians over
 * rounds of CPU time (`process.cpuUsage`, all threads) and wall time per
 * chain, weight bytes (codes + scales + zero points) streamed per CPU second,
 * and the median over rounds of fp32 ÷ variant (CPU and wall).
 *
 *   npx tsx bench/int4-kernels.ts [--shape=square|smollm2] [--dim=4096] [--layers=6]
 *     [--rounds=7] [--reps=4] [--groups=accuracy,block,zero-points,prepack,threads,int8]
 *
 * `square`: `layers` [dim, dim] products. `smollm2`: 30 blocks of the
 * SmolLM2-135M linear layers (q, k, v, o 576-wide, gate/up/down 1536) and
 * the 576 × 49152 head, as in the decoder, with the attention and norms
 * left out. One JSON line per variant, then a markdown table.
 */
import { execSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { makeTensor } from '../src/onnx/attributes.js';
import { emptyModel, GraphEditor, makeValueInfo } from '../src/onnx/graph.js';
import { DataType, ModelCodec } from '../src/onnx/proto.js';
import { quantizeBlockwise, type NBits } from '../src/quantize/blockwise.js';
import { quantizeInt8 } from '../src/quantize/weights.js';
import { summarize, type Summary } from './stats.js';

type Kind = 'fp32' | 'nbits' | 'dqmm' | 'dqmm-u8' | 'mmi';
interface Variant {
  label: string;
  kind: Kind;
  bits?: NBits;
  block?: number;
  acc?: number;
  zp?: boolean;
  threads: number;
  config?: Record<string, string>;
  level?: 'basic' | 'all';
}
interface Weight { K: number; N: number; w: Float32Array; input: string; output: string }

const MS = 'com.microsoft';
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

function random(K: number, N: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = 2 / Math.sqrt(K);
  const w = new Float32Array(K * N);
  for (let i = 0; i < w.length; i++) { s = (s * 1103515245 + 12345) >>> 0; w[i] = (s / 2 ** 32 - 0.5) * a; }
  return w;
}

/** The products of the chain, with the glue nodes (Mul, Sum) that join them. */
function shape(): { D: number; weights: Weight[]; glue: { op: string; inputs: string[]; output: string }[]; outputs: { name: string; dim: number }[] } {
  const kind = arg('shape') ?? 'square';
  if (kind === 'square') {
    const D = Number(arg('dim') ?? 4096);
    const layers = Number(arg('layers') ?? 6);
    const weights = Array.from({ length: layers }, (_, l) => ({ K: D, N: D, w: random(D, D, l + 1), input: `x${l}`, output: `x${l + 1}` }));
    return { D, weights, glue: [], outputs: [{ name: `x${layers}`, dim: D }] };
  }
  if (kind !== 'smollm2') throw new Error(`--shape must be square or smollm2, got ${kind}`);
  const H = 576; const KV = 192; const F = 1536; const V = 49152; const L = 30;
  const weights: Weight[] = [];
  const glue: { op: string; inputs: string[]; output: string }[] = [];
  const outputs: { name: string; dim: number }[] = [];
  let seed = 1;
  const mm = (K: number, N: number, input: string, output: string) => weights.push({ K, N, w: random(K, N, seed++), input, output });
  for (let l = 0; l < L; l++) {
    const x = `x${l}`;
    mm(H, H, x, `q${l}`); mm(H, KV, x, `k${l}`); mm(H, KV, x, `v${l}`); mm(H, H, `q${l}`, `o${l}`);
    mm(H, F, x, `g${l}`); mm(H, F, x, `u${l}`);
    glue.push({ op: 'Mul', inputs: [`g${l}`, `u${l}`], output: `h${l}` });
    mm(F, H, `h${l}`, `d${l}`);
    glue.push({ op: 'Sum', inputs: [x, `o${l}`, `d${l}`], output: `x${l + 1}` });
    outputs.push({ name: `k${l}`, dim: KV }, { name: `v${l}`, dim: KV });
  }
  mm(H, V, `x${L}`, 'logits');
  outputs.push({ name: 'logits', dim: V });
  return { D: H, weights, glue, outputs };
}

function build(v: Variant, s: ReturnType<typeof shape>): { model: Uint8Array; bytes: number } {
  const model = emptyModel(`chain_${v.kind}`, { name: 'bench', version: '0' });
  const e = new GraphEditor(model);
  e.ensureOpset(MS, 1);
  e.addInput(makeValueInfo('x0', DataType.FLOAT, [1, s.D]));
  let bytes = 0;
  const init = (name: string, dt: number, dims: number[], data: Uint8Array) => { e.addInitializer(makeTensor(name, dt, dims, data)); bytes += data.byteLength; return name; };
  s.weights.forEach((m, i) => {
    const { K, N, w, input: x, output: y } = m;
    if (v.kind === 'fp32') {
      e.addNode('MatMul', [x, init(`w${i}`, DataType.FLOAT, [K, N], new Uint8Array(w.buffer, w.byteOffset, w.byteLength))], [y]);
    } else if (v.kind === 'nbits') {
      const bits = v.bits ?? 4; const block = v.block ?? 32;
      const q = quantizeBlockwise(w, K, N, false, { bits, block, zeroPoints: v.zp ?? false });
      const inputs = [x, init(`w${i}`, DataType.UINT8, [N, q.blocks, (block * bits) / 8], q.packed), init(`s${i}`, DataType.FLOAT, [N * q.blocks], new Uint8Array(q.scales.buffer))];
      if (q.zeroPoints) inputs.push(init(`z${i}`, DataType.UINT8, [q.zeroPoints.length], q.zeroPoints));
      e.addNode('MatMulNBits', inputs, [y], { K, N, bits, block_size: block, accuracy_level: v.acc ?? 4 }, { domain: MS });
    } else {
      const q = quantizeInt8(w, K, N, false);
      const scale = init(`s${i}`, DataType.FLOAT, [N], new Uint8Array(q.scales.buffer));
      if (v.kind === 'dqmm') {
        e.addNode('DynamicQuantizeMatMul', [x, init(`w${i}`, DataType.INT8, [K, N], new Uint8Array(q.values.buffer)), scale], [y], {}, { domain: MS });
      } else if (v.kind === 'dqmm-u8') {
        const u = Uint8Array.from(q.values, (c) => c + 128);
        e.addNode('DynamicQuantizeMatMul', [x, init(`w${i}`, DataType.UINT8, [K, N], u), scale, init(`z${i}`, DataType.UINT8, [], Uint8Array.of(128))], [y], {}, { domain: MS });
      } else {
        e.addNode('DynamicQuantizeLinear', [x], [`${y}_q`, `${y}_s`, `${y}_z`]);
        e.addNode('MatMulInteger', [`${y}_q`, init(`w${i}`, DataType.INT8, [K, N], new Uint8Array(q.values.buffer)), `${y}_z`], [`${y}_i`]);
        e.addNode('Cast', [`${y}_i`], [`${y}_f`], { to: DataType.FLOAT });
        e.addNode('Mul', [`${y}_s`, scale], [`${y}_ss`]);
        e.addNode('Mul', [`${y}_f`, `${y}_ss`], [y]);
      }
    }
  });
  for (const g of s.glue) e.addNode(g.op, g.inputs, [g.output]);
  for (const o of s.outputs) e.addOutput(makeValueInfo(o.name, DataType.FLOAT, [1, o.dim]));
  return { model: ModelCodec.encode(model), bytes };
}

/** `a.b.c` keys as the nested object onnxruntime-node flattens back. */
function nested(config: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const parts = key.split('.');
    let o = out;
    for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
    o[parts[parts.length - 1] as string] = value;
  }
  return out;
}

const nb = (bits: NBits, block: number, acc: number, zp: boolean, threads = 1, config?: Record<string, string>): Variant => ({
  label: `nbits${bits} b${block} acc${acc}${zp ? ' zp' : ''}`, kind: 'nbits', bits, block, acc, zp, threads, ...(config ? { config } : {}),
});
const fp32 = (threads = 1, config?: Record<string, string>): Variant => ({ label: 'fp32 MatMul', kind: 'fp32', threads, ...(config ? { config } : {}) });
const current = (threads = 1, config?: Record<string, string>) => ({ ...nb(4, 32, 4, false, threads, config), label: 'nbits4 b32 acc4 (current int4)' });
const dqmm = (threads = 1): Variant => ({ label: 'DynamicQuantizeMatMul s8 (current int8)', kind: 'dqmm', threads });

const NO_PREPACK = { 'session.disable_prepacking': '1' };
const NO_SPIN = { 'session.intra_op.allow_spinning': '0' };
const blocks = (arg('blocks') ?? '16,32,64,128').split(',').map(Number);

const GROUPS: Record<string, Variant[]> = {
  accuracy: [fp32(), ...[0, 1, 2, 3].map((a) => nb(4, 32, a, false)), current()],
  block: [fp32(), current(), ...blocks.flatMap((b) => [nb(4, b, 0, false), nb(4, b, 4, false)]).filter((v) => !(v.block === 32 && v.acc === 4))],
  'zero-points': [fp32(), current(), nb(4, 32, 4, true), nb(4, 128, 4, false), nb(4, 128, 4, true), nb(4, 32, 0, true)],
  prepack: [fp32(), current(), { ...fp32(1, NO_PREPACK), label: 'fp32 MatMul, no prepack' }, { ...dqmm(), config: NO_PREPACK, label: 'DynamicQuantizeMatMul, no prepack' }, { ...current(1, NO_PREPACK), label: 'nbits4 b32 acc4, no prepack' }],
  threads: [
    fp32(), current(), fp32(2), current(2), nb(4, 128, 4, false, 2), dqmm(2),
    { ...fp32(2, NO_SPIN), label: 'fp32 MatMul, no spin' }, { ...current(2, NO_SPIN), label: 'nbits4 b32 acc4, no spin' },
    { ...current(2, { 'session.dynamic_block_base': '4' }), label: 'nbits4 b32 acc4, dynamic_block_base 4' },
  ],
  int8: [
    fp32(), dqmm(), { label: 'DynamicQuantizeMatMul u8 + zp', kind: 'dqmm-u8', threads: 1 },
    { label: 'MatMulInteger chain (level all)', kind: 'mmi', threads: 1, level: 'all' }, { label: 'MatMulInteger chain (level basic)', kind: 'mmi', threads: 1, level: 'basic' },
    nb(8, 32, 4, false), nb(8, 64, 4, false), nb(8, 128, 4, false), nb(8, 128, 4, true), nb(8, 32, 0, false), current(),
  ],
};

interface Row { group: string; v: Variant; bytes: number; cpu: Summary; wall: Summary; gbPerCpuSecond: number; cpuRatio: Summary; wallRatio: Summary }

async function runGroup(group: string, variants: Variant[], s: ReturnType<typeof shape>, rounds: number, reps: number): Promise<Row[]> {
  const entries = [];
  for (const v of variants) {
    const { model, bytes } = build(v, s);
    const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: v.threads, interOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: v.level ?? 'all' };
    if (v.config) opts.extra = nested(v.config);
    entries.push({ v, bytes, s: await ort.InferenceSession.create(model, opts), cpu: [] as number[], wall: [] as number[] });
  }
  const x = new ort.Tensor('float32', Float32Array.from({ length: s.D }, (_, i) => Math.sin(i)), [1, s.D]);
  for (const e of entries) for (let i = 0; i < 2; i++) await e.s.run({ x0: x });
  for (let r = 0; r < rounds; r++) {
    for (const e of r % 2 === 0 ? entries : [...entries].reverse()) {
      const c = process.cpuUsage();
      const t = performance.now();
      for (let i = 0; i < reps; i++) await e.s.run({ x0: x });
      const wall = performance.now() - t;
      const u = process.cpuUsage(c);
      e.cpu.push((u.user + u.system) / 1000 / reps);
      e.wall.push(wall / reps);
    }
  }
  const rows: Row[] = [];
  for (const e of entries) {
    const base = entries.find((b) => b.v.kind === 'fp32' && b.v.threads === e.v.threads && !b.v.config) ?? entries[0];
    const cpu = summarize(e.cpu);
    rows.push({
      group, v: e.v, bytes: e.bytes, cpu, wall: summarize(e.wall), gbPerCpuSecond: e.bytes / (cpu.median / 1000) / 1e9,
      cpuRatio: summarize(e.cpu.map((c, i) => (base?.cpu[i] ?? NaN) / c)), wallRatio: summarize(e.wall.map((w, i) => (base?.wall[i] ?? NaN) / w)),
    });
    await e.s.release();
  }
  return rows;
}

async function main(): Promise<void> {
  const rounds = Number(arg('rounds') ?? 7);
  const reps = Number(arg('reps') ?? 4);
  const groups = (arg('groups') ?? Object.keys(GROUPS).join(',')).split(',');
  const up = () => execSync('uptime').toString().trim();
  const s = shape();
  const before = up();
  process.stdout.write(`${JSON.stringify({ uptime: before, shape: arg('shape') ?? 'square', products: s.weights.length, fp32MiB: s.weights.reduce((a, m) => a + m.K * m.N * 4, 0) / 2 ** 20, rounds, reps })}\n`);
  const all: Row[] = [];
  for (const g of groups) {
    const variants = GROUPS[g];
    if (!variants) throw new Error(`unknown group ${g}; groups: ${Object.keys(GROUPS).join(', ')}`);
    const rows = await runGroup(g, variants, s, rounds, reps);
    for (const r of rows) {
      process.stdout.write(`${JSON.stringify({ group: g, variant: r.v.label, threads: r.v.threads, config: r.v.config ?? {}, weightMiB: r.bytes / 2 ** 20, cpuMsPerChain: r.cpu, wallMsPerChain: r.wall, gbPerCpuSecond: r.gbPerCpuSecond, cpuSpeedupVsFp32: r.cpuRatio, wallSpeedupVsFp32: r.wallRatio })}\n`);
    }
    all.push(...rows);
  }
  const after = up();
  const f = (x: number, d = 2) => x.toFixed(d);
  const lines = [
    `uptime before: ${before}`, `uptime after: ${after}`, '',
    '| group | variant | threads | MiB | CPU ms/chain (min–max) | wall ms | GB per CPU s | ÷ fp32, CPU (min–max) | ÷ fp32, wall |',
    '|---|---|---|---|---|---|---|---|---|',
    ...all.map((r) => `| ${r.group} | ${r.v.label} | ${r.v.threads} | ${f(r.bytes / 2 ** 20, 1)} | ${f(r.cpu.median)} (${f(r.cpu.min)}–${f(r.cpu.max)}) | ${f(r.wall.median)} | ${f(r.gbPerCpuSecond, 1)} | ${f(r.cpuRatio.median)} (${f(r.cpuRatio.min)}–${f(r.cpuRatio.max)}) | ${f(r.wallRatio.median)} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`int4-kernels bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
