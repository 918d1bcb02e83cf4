import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gguf, GGUFValueType } from '@huggingface/gguf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlVectorFormatError, ExportRefusedError, GgufFormatError, ModelMismatchError, ShapeMismatchError } from '../../src/errors.js';
import { readManifest, type HooksManifest } from '../../src/hooks/manifest.js';
import { exportControlVector, importControlVector, readControlVector } from '../../src/interop/control-vector.js';
import { SteeringVector, modelIdentity } from '../../src/vectors/vector.js';
import { defaultDir } from '../helpers/models.js';
import { REPO, tempDir } from '../helpers/paths.js';

const tmp = tempDir('onnx-steer-cv-');
afterAll(() => tmp.cleanup());
let modelDir: string;
let manifest: HooksManifest;
beforeAll(async () => { modelDir = await defaultDir(); manifest = readManifest(modelDir); }, 300_000);

const H = 128;
const dir = (seed: number): Float32Array => Float32Array.from({ length: H }, (_, i) => Math.fround(Math.sin(seed * 7.3 + i * 0.37) * (i % 5 === 0 ? 1e-30 : 1.7)));
const vectorAt = (sites: Record<string, Float32Array>): SteeringVector =>
  SteeringVector.create(sites, { model: modelIdentity(manifest), method: 'mean-diff', name: 'test' });

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], { cwd: REPO, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A minimal GGUF encoder written independently of src/gguf, to make other tools' files. */
function encodeGguf(kvs: [string, number, Buffer][], tensors: { name: string; dims: number[]; type: number; data: Buffer }[], opts: { version?: number; magic?: string } = {}): Buffer {
  const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  const u64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
  const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
  const parts: Buffer[] = [Buffer.from(opts.magic ?? 'GGUF', 'latin1'), u32(opts.version ?? 3), u64(tensors.length), u64(kvs.length)];
  for (const [k, type, value] of kvs) parts.push(str(k), u32(type), value);
  let off = 0;
  for (const t of tensors) {
    parts.push(str(t.name), u32(t.dims.length), ...t.dims.map(u64), u32(t.type), u64(off));
    off += Math.ceil(t.data.length / 32) * 32;
  }
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  return Buffer.concat([head, ...tensors.map((t) => Buffer.concat([t.data, Buffer.alloc((32 - (t.data.length % 32)) % 32)]))]);
}
const S = (s: string): [number, Buffer] => { const b = Buffer.from(s); const n = Buffer.alloc(8); n.writeBigUInt64LE(BigInt(b.length)); return [GGUFValueType.STRING, Buffer.concat([n, b])]; };
const U32 = (v: number): [number, Buffer] => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return [GGUFValueType.UINT32, b]; };
const I32 = (v: number): [number, Buffer] => { const b = Buffer.alloc(4); b.writeInt32LE(v); return [GGUFValueType.INT32, b]; };
const F32 = (v: number): [number, Buffer] => { const b = Buffer.alloc(4); b.writeFloatLE(v); return [GGUFValueType.FLOAT32, b]; };
const kv = (k: string, [t, b]: [number, Buffer]): [string, number, Buffer] => [k, t, b];
const f32 = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
const direction = (layer: number | string, v: Float32Array) => ({ name: `direction.${layer}`, dims: [v.length], type: 0, data: f32(v) });

describe('GGUF control vector export', () => {
  it('writes what llama.cpp loads, read back by @huggingface/gguf, and round-trips bit for bit', async () => {
    const v = vectorAt({ 'blocks.1.hook_resid_post': dir(1) });
    const path = join(tmp.path, 'v.gguf');
    exportControlVector(v, path);
    const parsed = await gguf(path, { allowLocalFile: true, typedMetadata: true });
    expect(parsed.typedMetadata['general.architecture']).toEqual({ value: 'controlvector', type: GGUFValueType.STRING });
    expect(parsed.typedMetadata['controlvector.model_hint']).toEqual({ value: 'llama', type: GGUFValueType.STRING });
    expect(parsed.typedMetadata['controlvector.layer_count']).toEqual({ value: 1, type: GGUFValueType.UINT32 });
    expect(parsed.tensorInfos.map((t) => [t.name, t.n_dims, t.shape, t.dtype, t.offset])).toEqual([['direction.1', 1, [128n], 0, 0n]]);
    expect(Number(parsed.tensorDataOffset) % 32).toBe(0);
    const bytes = readFileSync(path);
    const data = bytes.subarray(Number(parsed.tensorDataOffset), Number(parsed.tensorDataOffset) + H * 4);
    expect(data.equals(f32(dir(1)))).toBe(true);

    const back = importControlVector(path, { model: manifest });
    expect(back.sites).toEqual(['blocks.1.hook_resid_post']);
    expect(f32(back.direction('blocks.1.hook_resid_post')).equals(f32(dir(1)))).toBe(true);
    expect(back.meta.model.fingerprint).toBe(manifest.fingerprint);
    const sha = readControlVector(path).sha256;
    expect(back.meta.derivation).toContain(sha);
    expect(back.meta.derivation).toContain('model_hint "llama"');
    const again = join(tmp.path, 'again.gguf');
    exportControlVector(back, again);
    expect(readFileSync(again).equals(bytes)).toBe(true);
  });

  it('folds the strength in only with scale, and maps resid_pre of block N to direction N−1', () => {
    const path = join(tmp.path, 'scaled.gguf');
    exportControlVector(vectorAt({ 'blocks.2.hook_resid_pre': dir(2) }), path, { scale: -2.5 });
    const info = readControlVector(path);
    expect([...info.directions.keys()]).toEqual([1]);
    const got = info.directions.get(1)!;
    const want = dir(2);
    expect(Array.from(got)).toEqual(Array.from(want, (x) => Math.fround(-2.5 * x)));
  });

  it('refuses what llama.cpp would not apply the same way, writing nothing', () => {
    const refuse = (v: SteeringVector, opts: Parameters<typeof exportControlVector>[2], reason: string) => {
      const path = join(tmp.path, `refused-${reason}.gguf`);
      let err: unknown;
      try { exportControlVector(v, path, opts); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(ExportRefusedError);
      expect((err as ExportRefusedError).reason).toBe(reason);
      expect((err as Error).message).not.toContain('\n');
      expect(existsSync(path)).toBe(false);
    };
    refuse(vectorAt({ 'blocks.0.hook_resid_post': dir(1) }), {}, 'BLOCK_ZERO');
    refuse(vectorAt({ 'blocks.1.hook_resid_pre': dir(1) }), {}, 'BLOCK_ZERO');
    refuse(vectorAt({ 'blocks.1.hook_resid_mid': dir(1) }), {}, 'SITE');
    refuse(vectorAt({ hook_embed: dir(1) }), {}, 'SITE');
    refuse(vectorAt({ 'blocks.1.hook_resid_post': dir(1) }), { operator: 'ablate' }, 'OPERATOR');
    refuse(vectorAt({ 'blocks.1.hook_resid_post': dir(1) }), { operator: 'ablate-add' }, 'OPERATOR');
    refuse(vectorAt({ 'blocks.1.hook_resid_post': dir(1) }), { positions: { start: 0, end: 4 } }, 'POSITIONS');
    refuse(vectorAt({ 'blocks.1.hook_resid_post': dir(1) }), { positions: 'generated' }, 'POSITIONS');
    expect(readdirSync(tmp.path).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('GGUF control vector import from other tools', () => {
  const check = (path: string, producer: string) => {
    const v = importControlVector(path, { model: manifest });
    expect(v.sites).toEqual(['blocks.1.hook_resid_post']);
    expect(f32(v.direction('blocks.1.hook_resid_post')).equals(f32(dir(9)))).toBe(true);
    expect(v.meta.derivation).toContain(`producer ${producer}`);
    return v;
  };

  it('reads repeng (uint32 layer_count), cvector-generator (int32) and EasySteer (method + float keys) files', () => {
    const repeng = join(tmp.path, 'repeng.gguf');
    writeFileSync(repeng, encodeGguf([kv('general.architecture', S('controlvector')), kv('controlvector.model_hint', S('llama')), kv('controlvector.layer_count', U32(1))], [direction(1, dir(9))]));
    check(repeng, 'repeng');
    const cvgen = join(tmp.path, 'cvgen.gguf');
    writeFileSync(cvgen, encodeGguf([kv('general.architecture', S('controlvector')), kv('controlvector.model_hint', S('llama')), kv('controlvector.layer_count', I32(1))], [direction(1, dir(9))]));
    expect(check(cvgen, 'cvector-generator').meta.derivation).toContain('layer_count 1 (int32)');
    const easy = join(tmp.path, 'easysteer.gguf');
    writeFileSync(easy, encodeGguf([
      kv('general.architecture', S('controlvector')), kv('controlvector.model_hint', S('llama')), kv('controlvector.layer_count', U32(1)),
      kv('controlvector.method', S('pca')), kv('controlvector.explained_variance', F32(0.75)),
    ], [direction(1, dir(9))]));
    expect(check(easy, 'easysteer').meta.method).toBe('gguf:pca');
    // llama.cpp reads no metadata, so a bare file is valid too
    const bare = join(tmp.path, 'bare.gguf');
    writeFileSync(bare, encodeGguf([], [direction(1, dir(9))]));
    check(bare, 'unknown');
  });

  it('gives a typed error for each malformed file', () => {
    const good = [kv('general.architecture', S('controlvector')), kv('controlvector.layer_count', U32(1))];
    const full = encodeGguf(good, [direction(1, dir(9))]);
    const cases: [string, Buffer, new (...a: never[]) => Error, string?][] = [
      ['bad magic', encodeGguf(good, [direction(1, dir(9))], { magic: 'GGML' }), GgufFormatError, 'BAD_MAGIC'],
      ['version 2', encodeGguf(good, [direction(1, dir(9))], { version: 2 }), GgufFormatError, 'UNSUPPORTED_VERSION'],
      ['truncated tensor data', full.subarray(0, full.length - 40), GgufFormatError, 'TRUNCATED'],
      ['wrong dtype', encodeGguf(good, [{ name: 'direction.1', dims: [H], type: 1, data: Buffer.alloc(H * 2) }]), ControlVectorFormatError, 'BAD_DTYPE'],
      ['2-D tensor', encodeGguf(good, [{ name: 'direction.1', dims: [64, 2], type: 0, data: Buffer.alloc(H * 4) }]), ControlVectorFormatError, 'BAD_SHAPE'],
      ['duplicate names', encodeGguf(good, [direction(1, dir(9)), direction(1, dir(8))]), GgufFormatError, 'DUPLICATE_TENSOR'],
      ['same layer twice', encodeGguf(good, [direction(1, dir(9)), direction('01', dir(8))]), ControlVectorFormatError, 'DUPLICATE_LAYER'],
      ['direction.0', encodeGguf(good, [direction(0, dir(9)), direction(1, dir(8))]), ControlVectorFormatError, 'ZERO_LAYER'],
      ['other tensor name', encodeGguf(good, [direction(1, dir(9)), { name: 'output.weight', dims: [H], type: 0, data: f32(dir(3)) }]), ControlVectorFormatError, 'BAD_TENSOR_NAME'],
      ['lengths differ', encodeGguf(good, [direction(1, dir(9)), direction(2, dir(9).subarray(0, 64))]), ControlVectorFormatError, 'LENGTH_MISMATCH'],
      ['no tensors', encodeGguf(good, []), ControlVectorFormatError, 'NO_DIRECTIONS'],
      ['a model, not a vector', encodeGguf([kv('general.architecture', S('llama'))], [direction(1, dir(9))]), ControlVectorFormatError, 'BAD_METADATA'],
      ['NaN', encodeGguf(good, [direction(1, new Float32Array(H).fill(Number.NaN))]), ControlVectorFormatError, 'NOT_FINITE'],
      ['n_embd mismatch', encodeGguf(good, [direction(1, new Float32Array(64))]), ShapeMismatchError],
      ['layer past the last block', encodeGguf(good, [direction(2, dir(9))]), ModelMismatchError],
    ];
    for (const [label, bytes, type, reason] of cases) {
      const path = join(tmp.path, `bad-${label.replace(/\W+/g, '-')}.gguf`);
      writeFileSync(path, bytes);
      let err: unknown;
      try { importControlVector(path, { model: manifest }); } catch (e) { err = e; }
      expect(err, label).toBeInstanceOf(type);
      if (reason !== undefined) expect((err as { reason?: string }).reason, label).toBe(reason);
    }
  });
});

describe('onnx-steer export / import', () => {
  it('exports, refuses with exit 1 and one line, and imports', () => {
    const vpath = join(tmp.path, 'cli.json');
    vectorAt({ 'blocks.1.hook_resid_post': dir(4) }).save(vpath);
    const out = join(tmp.path, 'cli.gguf');
    const ok = run(['export', vpath, '--format', 'gguf', '-o', out, '--scale', '2']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('--control-vector-scaled');
    const joy = join(REPO, 'vectors/tinystories-656k/joy.json'); // at blocks.0.hook_resid_post
    const refused = run(['export', joy, '--format', 'gguf', '-o', join(tmp.path, 'joy.gguf')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('direction.0');
    expect(existsSync(join(tmp.path, 'joy.gguf'))).toBe(false);
    const back = join(tmp.path, 'back.json');
    const imp = run(['import', out, '--model', modelDir, '-o', back, '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    const v = SteeringVector.load(back, { model: manifest });
    expect(Array.from(v.direction('blocks.1.hook_resid_post'))).toEqual(Array.from(dir(4), (x) => Math.fround(2 * x)));
  });
});
