/**
 * What one extra graph node costs per decode step, against the default
 * model's whole step: onnxruntime runs a chain of n element-wise Adds on a
 * [1, 1, hidden] tensor (the shape a hook site's Add sees at batch-1
 * decode) for two chain lengths at one intra-op thread, A B A B; the
 * per-node cost is the CPU-time difference ÷ the node difference. The
 * default model's unhooked decode step is timed the same way, so
 * plainStep ÷ (plainStep + extraNodes × perNode) is the hook ratio that
 * per-node overhead alone predicts for a graph `extraNodes` longer; the
 * hooked model's unused step (the runtime's lean graph) is timed in the same
 * rounds for the measured ratio.
 *
 *   npx tsx bench/node-cost.ts [--rounds=9] [--extra=3]
 */
import { execSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { emptyModel, GraphEditor, makeValueInfo } from '../src/onnx/graph.js';
import { DataType, ModelCodec } from '../src/onnx/proto.js';
import { ModelRunner } from '../src/runtime/runner.js';
import { defaultModelDir, defaultPlainModel } from './models.js';
import { stepper } from './steering.js';
import { summarize } from './stats.js';

async function addChain(n: number, hidden: number): Promise<ort.InferenceSession> {
  const model = emptyModel(`adds_${n}`, { name: 'bench', version: '0' });
  const e = new GraphEditor(model);
  e.addInput(makeValueInfo('x0', DataType.FLOAT, [1, 1, hidden]));
  e.addInput(makeValueInfo('s', DataType.FLOAT, [1, 1, hidden]));
  for (let i = 0; i < n; i++) e.addNode('Add', [`x${i}`, 's'], [`x${i + 1}`]);
  e.addOutput(makeValueInfo(`x${n}`, DataType.FLOAT, [1, 1, hidden]));
  return ort.InferenceSession.create(ModelCodec.encode(model), { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
}

const cpuUs = () => { const u = process.cpuUsage(); return u.user + u.system; };

async function main(): Promise<void> {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const rounds = Number(arg('rounds') ?? 9);
  const extra = Number(arg('extra') ?? 3);
  const hidden = 128;
  const line = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);
  line({ uptime: execSync('uptime').toString().trim() });
  const short = await addChain(10, hidden);
  const long = await addChain(210, hidden);
  const feeds = { x0: new ort.Tensor('float32', new Float32Array(hidden), [1, 1, hidden]), s: new ort.Tensor('float32', new Float32Array(hidden).fill(1e-3), [1, 1, hidden]) };
  const runner = await ModelRunner.open(await defaultPlainModel(), { intraOpNumThreads: 1 });
  const step = await stepper(runner, 1);
  const hooked = await ModelRunner.open(await defaultModelDir(), { intraOpNumThreads: 1 });
  const hookedStep = await stepper(hooked, 1);
  const reps = 200;
  const time = async (fn: () => Promise<unknown>) => { const c = cpuUs(); for (let i = 0; i < reps; i++) await fn(); return (cpuUs() - c) / reps; };
  for (let i = 0; i < 20; i++) { await short.run(feeds); await long.run(feeds); await step(); await hookedStep(); }
  const perNode: number[] = [];
  const stepUs: number[] = [];
  const hookedUs: number[] = [];
  const ratio: number[] = [];
  const shortUs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = await time(() => short.run(feeds));
    const b = await time(() => long.run(feeds));
    const ps = await time(step);
    const hs = await time(hookedStep);
    stepUs.push(ps);
    hookedUs.push(hs);
    ratio.push(ps / hs);
    shortUs.push(a);
    perNode.push((b - a) / 200);
  }
  const p = summarize(perNode);
  const s = summarize(stepUs);
  line({ hidden, perNodeUs: p, runOverheadUs: summarize(shortUs), defaultPlainStepUs: s, extraNodes: extra, predictedRatio: s.median / (s.median + extra * p.median), hookedUnusedStepUs: summarize(hookedUs), measuredRatio: summarize(ratio) });
  await short.release();
  await long.release();
  await runner.release();
  await hooked.release();
  line({ uptime: execSync('uptime').toString().trim() });
}

main().catch((err: unknown) => {
  process.stderr.write(`node-cost bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
