/**
 * Baking steering into a standalone ONNX model (Optimum / transformers.js
 * layout: config.json, tokenizer files, onnx/model.onnx), with every hook
 * input and capture output removed, so it runs in any onnxruntime or in
 * transformers.js with no onnx-steer at run time and no extra ops beyond one
 * Add per steered site.
 *
 * - `add`: s·v becomes a constant added to the residual at the vector's sites,
 *   at every position (what `generate --vector v.json=s` does).
 * - `ablate`: weight orthogonalization (Arditi et al. 2024). Every initializer
 *   that writes into the residual stream (the embedding rows, each matrix
 *   whose output is summed into the residual, their biases) becomes
 *   W − (W r) rᵀ, so no residual ever has a component along r: the same as
 *   ablating r at every site. The writers are found structurally: the
 *   residual at each site is decomposed through its Add tree down to the
 *   MatMul / Gather / bias initializers that feed it.
 * - `ablate-add`: both (orthogonalize everywhere, then add s·v at the sites).
 *
 * Writers that are not plain float32 initializers (quantized MatMulNBits,
 * fused attention, norms scaling the branch output) are refused by name.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidArgumentError, UnsupportedArchitectureError, UnsupportedDtypeError } from '../errors.js';
import { tempPathFor } from '../files/fs.js';
import { removeOnInterrupt } from '../files/interrupt.js';
import { withFs } from '../validate/paths.js';
import { readManifest, type HooksManifest } from '../hooks/manifest.js';
import { floatTensor } from '../onnx/attributes.js';
import { GraphEditor } from '../onnx/graph.js';
import { readModel, tensorByteLength, tensorFloat32, writeModel } from '../onnx/io.js';
import { DataType, type NodeProto, type TensorProto } from '../onnx/proto.js';
import type { SteeringVector } from '../vectors/vector.js';

export type BakeOperator = 'add' | 'ablate' | 'ablate-add';

export interface BakeOptions {
  vector: SteeringVector;
  /** Strength of the added vector (ignored by `ablate`). */
  strength: number;
  operator?: BakeOperator;
  /** For ablation with a multi-site vector: the site whose direction is r. */
  ablateSite?: string;
  force?: boolean;
  /** Called at each stage (reading, removing hooks, orthogonalizing, adding, writing). */
  onProgress?: (message: string) => void;
}

export interface BakeReport {
  output: string;
  operator: BakeOperator;
  /** Sites where a constant was added. */
  added: string[];
  /** Initializers orthogonalized against r. */
  orthogonalized: string[];
  /** Hook inputs and capture outputs removed. */
  removedInputs: number;
  removedOutputs: number;
}

const TOKENIZER_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt', 'chat_template.jinja'];

function unit(v: Float32Array): Float64Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  if (!(n > 0)) throw new InvalidArgumentError('cannot ablate a zero direction');
  return Float64Array.from(v, (x) => x / n);
}

/** Weight orthogonalization of the residual-writing initializers. */
class Orthogonalizer {
  readonly done: string[] = [];
  private seen = new Set<string>();
  private visited = new Set<string>();

  constructor(private readonly editor: GraphEditor, private readonly dir: string, private readonly r: Float64Array, private readonly hidden: number) {}

  private init(name: string): TensorProto | undefined {
    return name ? this.editor.initializer(name) : undefined;
  }

  private refuse(tensor: string, node: NodeProto | undefined, why: string): never {
    throw new UnsupportedArchitectureError(`cannot orthogonalize the writer of residual term "${tensor}": ${node ? `${node.opType ?? '?'} node "${node.name ?? ''}"` : 'a graph input'} ${why}; bake supports plain float32 MatMul/Gather/bias initializers (dequantize first)`);
  }

  /** A float32 initializer with last dim = hidden, replaced by its projection off r. `exclusive` copies it when shared. */
  private project(node: NodeProto, index: number, what: string): void {
    const name = node.input[index] ?? '';
    const t = this.init(name);
    if (!t) this.refuse(name, node, `reads ${what} from a computed tensor, not an initializer`);
    if ((t.dataType ?? 0) !== DataType.FLOAT) {
      throw new UnsupportedDtypeError(`cannot orthogonalize "${name}": ${what} is not float32 (dtype ${t.dataType ?? 0}); bake supports float32 weights`);
    }
    const dims = (t.dims ?? []).map(Number);
    if (dims[dims.length - 1] !== this.hidden) this.refuse(name, node, `has ${what} of shape [${dims.join(', ')}], not [..., ${this.hidden}]`);
    const shared = this.editor.uses(name).length > 1 || this.editor.isGraphOutput(name);
    const src = tensorFloat32(t, this.dir);
    const out = new Float32Array(src.length);
    const h = this.hidden;
    const r = this.r;
    for (let row = 0; row < src.length / h; row++) {
      let dot = 0;
      for (let j = 0; j < h; j++) dot += (src[row * h + j] as number) * (r[j] as number);
      for (let j = 0; j < h; j++) out[row * h + j] = (src[row * h + j] as number) - dot * (r[j] as number);
    }
    const target = shared ? this.editor.uniqueName(`${name}.orthogonalized`) : name;
    if (shared) {
      // e.g. tied embeddings: the lm_head keeps the original matrix
      this.editor.addInitializer(floatTensor(target, dims, out));
      node.input[index] = target;
      this.editor.reindex();
    } else {
      const fresh = floatTensor(name, dims, out);
      Object.assign(t, { dataType: fresh.dataType, dims: fresh.dims, rawData: fresh.rawData, dataLocation: 0, externalData: [], floatData: [] });
    }
    if (!this.seen.has(target)) { this.seen.add(target); this.done.push(target); }
  }

  /** Walks a residual tensor down its Add tree to the writers. */
  residual(tensor: string): void {
    if (this.visited.has(tensor)) return;
    this.visited.add(tensor);
    const p = this.editor.producer(tensor);
    if (p?.opType === 'Add' && !p.input.some((i) => this.init(i ?? ''))) {
      for (const i of p.input) if (i) this.residual(i);
      return;
    }
    this.writer(tensor);
  }

  private writer(tensor: string): void {
    const p = this.editor.producer(tensor);
    if (!p) this.refuse(tensor, undefined, 'is not produced by a node');
    switch (p.opType) {
      case 'MatMul': {
        const w = this.init(p.input[1] ?? '');
        if (!w || (w.dims ?? []).length !== 2) this.refuse(tensor, p, 'does not multiply by a 2-D initializer');
        this.project(p, 1, 'its weight');
        return;
      }
      case 'Gather': {
        if ((p.input[0] ?? '') === '' || !this.init(p.input[0] ?? '')) this.refuse(tensor, p, 'gathers from a computed tensor');
        this.project(p, 0, 'its embedding table');
        return;
      }
      case 'Add': {
        const bi = p.input.findIndex((i) => this.init(i ?? ''));
        const other = p.input[bi === 0 ? 1 : 0] ?? '';
        this.project(p, bi, 'its bias');
        this.writer(other);
        return;
      }
      case 'Mul': case 'Div': {
        // a scalar factor (e.g. Gemma's √hidden embedding scale) keeps r out
        const ci = p.input.findIndex((i) => this.init(i ?? ''));
        const c = ci >= 0 ? this.init(p.input[ci] ?? '') : undefined;
        const count = c ? (c.dims ?? []).map(Number).reduce((a, b) => a * b, 1) : 0;
        if (!c || count !== 1 || (p.opType === 'Div' && ci !== 1)) this.refuse(tensor, p, 'scales the branch by something other than a scalar constant (a norm weight?)');
        this.writer(p.input[ci === 0 ? 1 : 0] ?? '');
        return;
      }
      case 'Cast': case 'Identity':
        this.writer(p.input[0] ?? '');
        return;
      default:
        this.refuse(tensor, p, 'is not a plain MatMul, Gather or bias Add');
    }
  }
}

function siteDirections(m: HooksManifest, vector: SteeringVector): void {
  vector.check(m);
}

/** Bakes `options.vector` into the hooked model in `modelDir`, writing a standalone model to `outDir`. */
export function bakeModel(modelDir: string, outDir: string, options: BakeOptions): BakeReport {
  const staged = stageBake(modelDir, outDir, options);
  staged.commit();
  return staged.report;
}

/** A baked model written to a temp directory beside its output: `commit()` renames it into place, `abort()` removes it. */
export interface StagedBake { report: BakeReport; tmp: string; commit(): void; abort(): void }

/** {@link bakeModel} up to the final rename (the CLI lets a pending signal through before committing). */
export function stageBake(modelDir: string, outDir: string, options: BakeOptions): StagedBake {
  const operator = options.operator ?? 'add';
  if (!Number.isFinite(options.strength)) throw new InvalidArgumentError(`strength must be a finite number, got ${options.strength}`);
  const manifest = readManifest(modelDir);
  siteDirections(manifest, options.vector);
  if (manifest.dtype !== 'float32') throw new UnsupportedDtypeError(`bake supports float32 residual streams; this model's is ${manifest.dtype}`);
  if (existsSync(outDir) && !options.force) throw new InvalidArgumentError(`output already exists: ${outDir} (pass --force to overwrite)`);
  const progress = options.onProgress ?? (() => undefined);
  progress(`reading ${join(modelDir, manifest.model)}`);
  const loaded = readModel(join(modelDir, manifest.model));
  const editor = new GraphEditor(loaded.model);
  progress(`removing ${manifest.sites.length} hook sites`);
  const graph = editor.graph;

  // 1. Remove the hooks: each capture's consumers read the source tensor again.
  const current = new Map<string, string>();
  const resolve = (name: string): string => current.get(name) ?? name;
  const hookInputs = new Set<string>();
  const captures = new Set<string>();
  for (const site of manifest.sites) {
    hookInputs.add(site.steer); hookInputs.add(site.ablate);
    if (site.renorm) hookInputs.add(site.renorm);
    captures.add(site.capture);
    const source = resolve(site.sourceTensor);
    editor.replaceUses(site.capture, source, new Set(), { keepGraphOutputs: true });
    current.set(site.capture, source);
  }
  const removedInputs = graph.input.filter((v) => hookInputs.has(v.name ?? '')).length;
  graph.input = graph.input.filter((v) => !hookInputs.has(v.name ?? ''));
  const removedOutputs = graph.output.filter((v) => captures.has(v.name ?? '')).length;
  graph.output = graph.output.filter((v) => !captures.has(v.name ?? ''));
  pruneDeadNodes(editor);

  // 2. Orthogonalize the writers.
  let orthogonalized: string[] = [];
  if (operator !== 'add') {
    const sites = options.vector.sites;
    const site = options.ablateSite ?? (sites.length === 1 ? sites[0] : undefined);
    if (site === undefined) throw new InvalidArgumentError(`ablation bakes one direction: the vector has ${sites.length} sites, choose one (ablateSite / --sites)`);
    progress(`orthogonalizing the residual writers against ${site}`);
    const r = unit(options.vector.direction(site));
    const o = new Orthogonalizer(editor, loaded.dir, r, manifest.hiddenSize);
    for (const s of manifest.sites) o.residual(resolve(s.sourceTensor));
    orthogonalized = o.done;
  }

  // 3. Constant adds at the vector's sites.
  const added: string[] = [];
  if (operator !== 'ablate' && options.strength !== 0) {
    progress(`adding ${options.strength}·v at ${options.vector.sites.length} site(s)`);
    for (const siteName of options.vector.sites) {
      const site = manifest.sites.find((s) => s.name === siteName);
      if (!site) continue; // check() above guarantees presence
      const source = resolve(site.sourceTensor);
      const v = options.vector.direction(siteName);
      const constName = editor.uniqueName(`onnx_steer::baked/${siteName}`);
      editor.addInitializer(floatTensor(constName, [manifest.hiddenSize], Float32Array.from(v, (x) => Math.fround(x * options.strength))));
      const users = new Set(editor.uses(source).map((u) => u.node));
      const out = editor.op('Add', [source, constName], `onnx_steer/baked/${siteName}`);
      const skip = new Set(editor.uses(source).map((u) => u.node).filter((n) => !users.has(n)));
      editor.replaceUses(source, out, skip, { keepGraphOutputs: true });
      for (const [k, val] of current) if (val === source) current.set(k, out);
      current.set(site.sourceTensor, out);
      added.push(siteName);
    }
  }
  editor.topologicalSort();

  // 4. Write the folder through a temp directory (removed on SIGINT/SIGTERM too), then rename.
  progress(`writing ${outDir}`);
  const tmp = tempPathFor(outDir);
  const release = removeOnInterrupt(tmp);
  const abort = () => { rmSync(tmp, { recursive: true, force: true }); release(); };
  try {
    withFs(outDir, 'write', () => {
      mkdirSync(join(tmp, 'onnx'), { recursive: true });
      // inline weights below protobuf's 2 GiB limit: transformers.js loads a single file without extra config
      const bytes = graph.initializer.reduce((sum, t) => sum + tensorByteLength(t), 0);
      writeModel(loaded.model, join(tmp, 'onnx', 'model.onnx'), { sourceDir: loaded.dir, externalData: bytes < 1.8 * 2 ** 30 ? 'never' : 'always' });
      for (const f of TOKENIZER_FILES) if (existsSync(join(modelDir, f))) copyFileSync(join(modelDir, f), join(tmp, f));
    });
  } catch (err) {
    abort();
    throw err;
  }
  const report = { output: outDir, operator, added, orthogonalized, removedInputs, removedOutputs };
  return {
    report, tmp, abort,
    commit: () => {
      try {
        withFs(outDir, 'write', () => {
          if (existsSync(outDir)) rmSync(outDir, { recursive: true, force: true });
          mkdirSync(dirname(outDir), { recursive: true });
          renameSync(tmp, outDir);
        });
      } catch (err) {
        abort();
        throw err;
      }
      release();
    },
  };
}

/** Drops nodes whose outputs nothing reads (the hook subgraphs), and unused initializers. */
function pruneDeadNodes(editor: GraphEditor): void {
  const graph = editor.graph;
  for (;;) {
    const outputs = new Set(graph.output.map((o) => o.name ?? ''));
    const dead = graph.node.filter((n) => n.output.every((o) => !o || (!outputs.has(o) && editor.uses(o).length === 0)));
    if (dead.length === 0) break;
    for (const n of dead) editor.removeNode(n);
  }
  const inputs = new Set(graph.input.map((i) => i.name ?? ''));
  graph.initializer = graph.initializer.filter((t) => inputs.has(t.name ?? '') || editor.uses(t.name ?? '').length > 0);
  editor.reindex();
}
