import { join } from 'node:path';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { readModel, tensorBytes, writeModel } from '../../src/onnx/io.js';
import { DataType, toNumber, type ModelProto } from '../../src/onnx/proto.js';
import { valueType } from '../../src/onnx/graph.js';
import { CorruptFileError, FileNotFoundError } from '../../src/errors.js';
import { FIXTURES, tempDir } from '../helpers/paths.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Generic feeds from declared input types: batch 1, 3 new tokens, empty past. */
function genericFeeds(model: ModelProto): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of model.graph!.input) {
    const t = valueType(input);
    if (!t || model.graph!.initializer.some((i) => i.name === input.name)) continue;
    const dims = t.dims.map((d) => (typeof d === 'number' ? d : /batch/i.test(d) ? 1 : /past/i.test(d) ? 0 : 3));
    const n = dims.reduce((a, b) => a * b, 1);
    const name = input.name!;
    if (t.elemType === DataType.INT64) feeds[name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(name.includes('mask') ? 1 : name.includes('position') ? i : i + 5)), dims);
    else if (t.elemType === DataType.INT32) feeds[name] = new ort.Tensor('int32', Int32Array.from({ length: n }, (_, i) => (name.includes('mask') ? 1 : name.includes('position') ? i : i + 5)), dims);
    else if (t.elemType === DataType.FLOAT16) feeds[name] = new ort.Tensor('float16', new Uint16Array(n), dims);
    else feeds[name] = new ort.Tensor('float32', new Float32Array(n), dims);
  }
  return feeds;
}

const CASES = [
  { name: 'torch export (inline weights)', path: join(FIXTURES, 'torch-legacy-tinystories-656k', 'onnx', 'model.onnx') },
  { name: 'model builder fp16 (external data)', path: join(FIXTURES, 'ortgenai-mb-tiny-llama-fp16', 'model.onnx') },
  { name: 'ORT optimizer GPT-2 (contrib ops, int32)', path: join(FIXTURES, 'ortgenai-ortopt-tiny-gpt2-fp32', 'past.onnx') },
  { name: 'int4 MatMulNBits', path: join(FIXTURES, 'ortq-mb-tiny-llama-gqa-int4', 'model.onnx') },
];

describe('ONNX model I/O', () => {
  for (const c of CASES) {
    for (const policy of ['never', 'always'] as const) {
      it(`round-trips ${c.name} unedited (external data: ${policy})`, async () => {
        const src = readModel(c.path);
        const out = join(tmp.path, `${policy}-${c.name.replace(/\W+/g, '_')}.onnx`);
        writeModel(src.model, out, { sourceDir: src.dir, externalData: policy });
        expect(existsSync(`${out}.data`)).toBe(policy === 'always');
        const back = readModel(out);
        const before = new Map(src.model.graph!.initializer.map((t) => [t.name, tensorBytes(t, src.dir)]));
        expect(back.model.graph!.initializer.length).toBe(before.size);
        for (const t of back.model.graph!.initializer) {
          expect(Buffer.from(tensorBytes(t, back.dir)).equals(Buffer.from(before.get(t.name)!))).toBe(true);
        }
        expect(back.model.graph!.node.length).toBe(src.model.graph!.node.length);
        expect(toNumber(back.model.irVersion)).toBe(toNumber(src.model.irVersion));
        const feeds = genericFeeds(src.model);
        const s1 = await ort.InferenceSession.create(c.path);
        const s2 = await ort.InferenceSession.create(out);
        const o1 = await s1.run(feeds);
        const o2 = await s2.run(feeds);
        for (const k of Object.keys(o1)) expect(Buffer.from((o2[k]!.data as Float32Array).buffer).equals(Buffer.from((o1[k]!.data as Float32Array).buffer))).toBe(true);
        await s1.release(); await s2.release();
      });
    }
  }

  it('rejects missing, truncated and corrupt files with typed errors', () => {
    expect(() => readModel(join(tmp.path, 'nope.onnx'))).toThrow(FileNotFoundError);
    const bytes = readFileSync(CASES[0]!.path);
    const truncated = join(tmp.path, 'truncated.onnx');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expect(() => readModel(truncated)).toThrow(CorruptFileError);
    const garbage = join(tmp.path, 'garbage.onnx');
    writeFileSync(garbage, Buffer.from('this is not a protobuf model at all'));
    expect(() => readModel(garbage)).toThrow(CorruptFileError);
    const empty = join(tmp.path, 'empty.onnx');
    writeFileSync(empty, '');
    expect(() => readModel(empty)).toThrow(/empty file/);
  });

  it('rejects external data that is missing or too short', () => {
    const src = readModel(CASES[1]!.path);
    const out = join(tmp.path, 'ext', 'model.onnx');
    writeModel(src.model, out, { sourceDir: src.dir, externalData: 'always' });
    const data = readFileSync(`${out}.data`);
    writeFileSync(`${out}.data`, data.subarray(0, data.length - 100));
    expect(() => readModel(out)).toThrow(/external data truncated/);
  });
});
