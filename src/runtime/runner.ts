/**
 * ModelRunner: one forward pass over a hooked model directory, in whatever
 * input convention and cache layout its hooks.json records. Everything above
 * it (generation, scoring, capture) speaks only in token ids, caches, hook
 * feeds and capture names.
 */
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { HookNotFoundError, InvalidArgumentError, RuntimeFailureError } from '../errors.js';
import { checkManifestAgainstGraph } from '../hooks/consistency.js';
import { readManifest, type HooksManifest, type HookSiteInfo } from '../hooks/manifest.js';
import { advanceCache, cacheFeeds, cacheOutputNames, emptyCache, type KvCache } from './cache.js';
import { createSession, type SessionOptions } from './session.js';
import { boolTensor, idTensor, toFloat32, type Float32Tensor } from './tensors.js';
import { readModel } from '../onnx/io.js';
import { ModelCodec } from '../onnx/proto.js';
import { HookPacker, packHookInputs, type PackLayout } from './packing.js';
import { addLowRankSites } from '../hooks/lowrank.js';

export interface RunnerOptions extends SessionOptions {
  /**
   * Give every hook site the low-rank map input pair in the session's graph
   * (hooks/lowrank.ts), when the model on disk was built without it.
   */
  lowRank?: boolean;
}

export interface ForwardArgs {
  /** Token ids, row-major [batch, seqLen]. */
  ids: ArrayLike<number>;
  batch: number;
  seqLen: number;
  cache: KvCache;
  /** [batch, cache.length + seqLen]; defaults to all ones. */
  attentionMask?: ArrayLike<number>;
  /** [batch, seqLen]; defaults to cache.length … cache.length + seqLen − 1. */
  positionIds?: ArrayLike<number>;
  /** Steering/ablation inputs by tensor name. */
  hookFeeds?: Record<string, ort.Tensor>;
  /** Site names whose captures to return. */
  captures?: readonly string[];
  /** Fetch logits (default true). */
  logits?: boolean;
}

export interface ForwardResult {
  /** [batch, seqLen, vocab] as float32 (absent when not requested or not produced). */
  logits?: Float32Tensor;
  /** For graphs without an LM head: the last hidden state. */
  lastHidden?: Float32Tensor;
  captures: Record<string, Float32Tensor>;
  cache: KvCache;
}

export class ModelRunner {
  readonly dir: string;
  readonly manifest: HooksManifest;
  readonly session: ort.InferenceSession;
  private readonly sites: Map<string, HookSiteInfo>;
  private readonly cacheOutputs: string[];
  private readonly packer: HookPacker;

  private constructor(dir: string, manifest: HooksManifest, session: ort.InferenceSession, layout: PackLayout) {
    this.dir = dir;
    this.manifest = manifest;
    this.session = session;
    this.sites = new Map(manifest.sites.map((s) => [s.name, s]));
    this.cacheOutputs = cacheOutputNames(manifest.cache);
    this.packer = new HookPacker(layout, manifest.dtype);
  }

  /**
   * Opens a hooked model directory. On disk, hook inputs have zero
   * initializers as defaults; onnxruntime-node cannot feed inputs that have
   * initializers (it only forwards `session.inputNames`), and feeding one
   * tensor per hook input costs time on deep models. So the session is
   * created from the graph with the per-site hook inputs replaced by packed
   * inputs (see packing.ts), fed zeros when a step steers nothing.
   */
  static async open(dir: string, options: RunnerOptions = {}): Promise<ModelRunner> {
    const { lowRank, ...sessionOptions } = options;
    let manifest = readManifest(dir);
    const path = join(dir, manifest.model);
    const { model } = readModel(path);
    checkManifestAgainstGraph(manifest, model, path);
    if (lowRank && manifest.sites.some((s) => !s.lowRank)) manifest = { ...manifest, sites: addLowRankSites(model, manifest.sites, manifest.hiddenSize, manifest.dtype) };
    const layout = packHookInputs(model, manifest.sites, manifest.hiddenSize, manifest.dtype);
    const session = await createSession(ModelCodec.encode(model), { ...sessionOptions, externalDataDir: dir, label: path });
    return new ModelRunner(dir, manifest, session, layout);
  }

  get siteNames(): string[] { return [...this.sites.keys()]; }

  site(name: string): HookSiteInfo {
    const s = this.sites.get(name);
    if (!s) throw new HookNotFoundError(name, this.siteNames);
    return s;
  }

  emptyCache(batch: number): KvCache {
    return emptyCache(this.manifest.cache, batch);
  }

  async forward(args: ForwardArgs): Promise<ForwardResult> {
    const { batch, seqLen, cache } = args;
    const { inputs } = this.manifest;
    if (args.ids.length !== batch * seqLen) throw new InvalidArgumentError(`expected ${batch * seqLen} token ids, got ${args.ids.length}`);
    if (cache.batch !== batch) throw new InvalidArgumentError(`cache has batch ${cache.batch}, step has ${batch}`);
    if (inputs.maxSequence !== undefined && seqLen > inputs.maxSequence) {
      throw new InvalidArgumentError(`this graph takes at most ${inputs.maxSequence} token(s) per step, got ${seqLen}`);
    }
    const total = cache.length + seqLen;
    const feeds: Record<string, ort.Tensor> = { ...this.packer.pack(args.hookFeeds), ...cacheFeeds(this.manifest.cache, cache, seqLen) };
    feeds[inputs.inputIds.name] = idTensor(inputs.inputIds.dtype, args.ids, [batch, seqLen]);
    if (inputs.useCacheBranch) feeds[inputs.useCacheBranch] = boolTensor(cache.length > 0);
    if (inputs.attentionMask) {
      const mask = args.attentionMask ?? new Array<number>(batch * total).fill(1);
      if (mask.length !== batch * total) throw new InvalidArgumentError(`attention mask must have ${batch}×${total} entries, got ${mask.length}`);
      feeds[inputs.attentionMask.name] = idTensor(inputs.attentionMask.dtype, mask, [batch, total]);
    }
    if (inputs.positionIds) {
      let pos = args.positionIds;
      if (!pos) {
        const p = new Array<number>(batch * seqLen);
        for (let b = 0; b < batch; b++) for (let s = 0; s < seqLen; s++) p[b * seqLen + s] = cache.length + s;
        pos = p;
      }
      feeds[inputs.positionIds.name] = idTensor(inputs.positionIds.dtype, pos, [batch, seqLen]);
    }
    const fetches: string[] = [...this.cacheOutputs];
    const wantLogits = args.logits ?? true;
    const { logits: logitsName, lastHidden } = this.manifest.outputs;
    if (wantLogits && logitsName) fetches.push(logitsName);
    if (wantLogits && lastHidden) fetches.push(lastHidden);
    const captureSites = (args.captures ?? []).map((c) => this.site(c));
    for (const s of captureSites) fetches.push(s.capture);

    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.session.run(feeds, fetches);
    } catch (err) {
      throw new RuntimeFailureError(`forward pass failed: ${(err as Error).message.split('\n')[0] ?? ''}`, { cause: err });
    }
    const result: ForwardResult = { captures: {}, cache: advanceCache(this.manifest.cache, cache, out, seqLen) };
    if (wantLogits && logitsName && out[logitsName]) result.logits = toFloat32(out[logitsName]);
    if (wantLogits && lastHidden && out[lastHidden]) result.lastHidden = toFloat32(out[lastHidden]);
    for (const s of captureSites) {
      const t = out[s.capture];
      if (t) result.captures[s.name] = toFloat32(t);
    }
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
