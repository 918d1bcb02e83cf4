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
import { readModel, tensorByteLength } from '../onnx/io.js';
import { ModelCodec, type ModelProto } from '../onnx/proto.js';
import { HookPacker, packHookInputs } from './packing.js';
import { specializeHooks } from '../hooks/specialize.js';
import { addLowRankSites } from '../hooks/lowrank.js';
import { FittedSessions, type Fit, type Tier } from './fitted.js';

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

/**
 * Which session graphs a runner opens.
 * - `auto` (default): `fitted` when the weights are at most
 *   `fittedMaxBytes`, else `tiered`. Hook nodes cost per-node overhead,
 *   which only shows when a step is short, i.e. when the weights are small;
 *   a fitted session costs a copy of the weights, which only matters when
 *   they are large.
 * - `fitted`: `tiered`, plus a session per recurring kind of step whose
 *   graph has exactly the hook operators and captures the step uses (the
 *   unhooked graph when it uses none); see fitted.ts.
 * - `tiered`: a lean graph whose sites only add steering vectors
 *   (folded into the residual adds, see hooks/specialize.ts), used by every
 *   step that neither ablates nor rescales; the file's full graph is opened
 *   the first time a step does, and kept (a second copy of the weights).
 * - `full`: the file's graph only (one session, every operator, every step).
 */
export type HookGraphs = 'auto' | 'fitted' | 'tiered' | 'full';
const HOOK_GRAPHS: readonly HookGraphs[] = ['auto', 'fitted', 'tiered', 'full'];

/** The weight budget under which `auto` fits sessions (bytes of initializers). */
export const FITTED_MAX_BYTES = 64 * 2 ** 20;

export interface RunnerOptions extends SessionOptions {
  hookGraphs?: HookGraphs;
  /** `auto` fits sessions when the graph's initializers take at most this many bytes (default 64 MiB). */
  fittedMaxBytes?: number;
  /** Fitted sessions kept open at once (default 4). */
  maxFittedSessions?: number;
  /**
   * Give every hook site the low-rank map input pair in the session's graph
   * (hooks/lowrank.ts), when the model on disk was built without it.
   */
  lowRank?: boolean;
}

const NO_KINDS: ReadonlySet<never> = new Set();

/** Bytes of a graph's initializers (inline or external). */
function weightBytes(model: ModelProto): number {
  let n = 0;
  for (const t of model.graph?.initializer ?? []) n += tensorByteLength(t);
  return n;
}

export class ModelRunner {
  readonly dir: string;
  readonly manifest: HooksManifest;
  private readonly sites: Map<string, HookSiteInfo>;
  private readonly cacheOutputs: string[];
  private readonly lean: Tier | undefined;
  private fullTier: Tier | undefined;
  private fullOpening: Promise<Tier> | undefined;
  private readonly openFull: () => Promise<Tier>;
  private fitted: FittedSessions | undefined;
  private resolved: 'fitted' | 'tiered' | 'full' = 'full';

  private constructor(dir: string, manifest: HooksManifest, lean: Tier | undefined, full: Tier | undefined, openFull: () => Promise<Tier>) {
    this.dir = dir;
    this.manifest = manifest;
    this.sites = new Map(manifest.sites.map((s) => [s.name, s]));
    this.cacheOutputs = cacheOutputNames(manifest.cache);
    this.lean = lean;
    this.fullTier = full;
    this.openFull = openFull;
  }

  /**
   * Opens a hooked model directory. On disk, hook inputs have zero
   * initializers as defaults; onnxruntime-node cannot feed inputs that have
   * initializers (it only forwards `session.inputNames`), and feeding one
   * tensor per hook input costs time on deep models. So sessions are
   * created from the graph with the per-site hook inputs replaced by packed
   * inputs (see packing.ts), fed zeros when a step steers nothing.
   */
  static async open(dir: string, options: RunnerOptions = {}): Promise<ModelRunner> {
    const { hookGraphs = 'auto', lowRank, fittedMaxBytes = FITTED_MAX_BYTES, maxFittedSessions = 4, ...sessionOptions } = options;
    if (!HOOK_GRAPHS.includes(hookGraphs)) throw new InvalidArgumentError(`hookGraphs must be one of ${HOOK_GRAPHS.map((g) => `"${g}"`).join(', ')}, got "${String(hookGraphs)}"`);
    if (!Number.isInteger(maxFittedSessions) || maxFittedSessions < 1) throw new InvalidArgumentError(`maxFittedSessions must be a positive integer, got ${String(maxFittedSessions)}`);
    const onDisk = readManifest(dir);
    const path = join(dir, onDisk.model);
    const addLowRank = lowRank === true && onDisk.sites.some((s) => !s.lowRank);
    // The file's graph (with the low-rank pair added in memory when asked for).
    const load = () => {
      const { model } = readModel(path);
      checkManifestAgainstGraph(onDisk, model, path);
      const sites = addLowRank ? addLowRankSites(model, onDisk.sites, onDisk.hiddenSize, onDisk.dtype) : onDisk.sites;
      return { model, sites };
    };
    const first = load();
    const manifest: HooksManifest = { ...onDisk, sites: first.sites };
    const session = async (model: ModelProto, sites: readonly HookSiteInfo[]): Promise<Tier> => {
      const layout = packHookInputs(model, sites, manifest.hiddenSize, manifest.dtype);
      const s = await createSession(ModelCodec.encode(model), { ...sessionOptions, externalDataDir: dir, label: path });
      return { session: s, packer: new HookPacker(layout, manifest.dtype), names: new Set([...layout.slots.keys(), ...layout.direct.keys(), ...manifest.sites.flatMap((x) => (layout.lowRank && x.lowRank ? [x.lowRank.v, x.lowRank.u] : []))]) };
    };
    const openFull = (loaded = load()) => session(loaded.model, loaded.sites);
    const mode = hookGraphs === 'auto' ? (weightBytes(first.model) <= fittedMaxBytes ? 'fitted' : 'tiered') : hookGraphs;
    const fit = (runner: ModelRunner): ModelRunner => {
      runner.resolved = mode;
      if (mode !== 'fitted') return runner;
      const open = (f: Fit) => {
        const { model } = load();
        specializeHooks(model, manifest.sites, { dtype: manifest.dtype, kinds: (s) => f.kinds.get(s.name) ?? NO_KINDS, captures: (s) => f.captures.has(s.name) });
        return session(model, leanSites);
      };
      runner.fitted = new FittedSessions(manifest.sites, open, maxFittedSessions);
      return runner;
    };
    const leanSites = manifest.sites.map(({ lowRank: _lowRank, ...rest }) => rest);
    const needsFull = manifest.sites.some((s) => s.ablate || s.renorm || s.lowRank);
    if (mode === 'full' || !needsFull) {
      const full = await openFull(first);
      const runner = new ModelRunner(dir, manifest, undefined, full, () => Promise.resolve(full));
      return mode === 'full' ? runner : fit(runner);
    }
    // The lean graph: steering adds only. A graph whose sites cannot be found
    // structurally (a layout this version does not know) runs in full.
    try {
      specializeHooks(first.model, manifest.sites, { dtype: manifest.dtype, kinds: new Set(['steer']) });
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      const full = await openFull();
      return new ModelRunner(dir, manifest, undefined, full, () => Promise.resolve(full));
    }
    return fit(new ModelRunner(dir, manifest, await session(first.model, leanSites), undefined, () => openFull()));
  }

  /** The session most steps run (the lean one when tiered). */
  get session(): ort.InferenceSession {
    const tier = this.lean ?? this.fullTier;
    if (!tier) throw new RuntimeFailureError('the runner has no open session');
    return tier.session;
  }

  /** Whether the full graph has been opened (tiered runners open it on the first ablating or rescaling step). */
  get fullGraphOpen(): boolean { return this.fullTier !== undefined; }

  /** The session policy in force (`auto` resolved; `full` also when the sites could not be specialised). */
  get policy(): 'fitted' | 'tiered' | 'full' { return this.resolved; }

  /** Why fitted sessions stopped being built (steps then run on the tiered sessions), if they did. */
  get fittedFailure(): Error | undefined { return this.fitted?.failure; }

  /** Fitted sessions open now (0 unless the runner fits sessions). */
  get fittedSessions(): number { return this.fitted?.size ?? 0; }

  private async tierFor(hookFeeds: Record<string, ort.Tensor> | undefined): Promise<Tier> {
    const lean = this.lean;
    if (lean && Object.keys(hookFeeds ?? {}).every((n) => lean.names.has(n))) return lean;
    if (this.fullTier) return this.fullTier;
    this.fullOpening ??= this.openFull();
    this.fullTier = await this.fullOpening;
    return this.fullTier;
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
    const captureSites = (args.captures ?? []).map((c) => this.site(c));
    const fitted = this.fitted ? await this.fitted.acquire(args.hookFeeds, args.captures ?? []) : undefined;
    try {
      return await this.run(args, fitted?.tier ?? await this.tierFor(args.hookFeeds), captureSites, total);
    } finally {
      fitted?.done();
    }
  }

  private async run(args: ForwardArgs, tier: Tier, captureSites: HookSiteInfo[], total: number): Promise<ForwardResult> {
    const { batch, seqLen, cache } = args;
    const { inputs } = this.manifest;
    const feeds: Record<string, ort.Tensor> = { ...tier.packer.pack(args.hookFeeds), ...cacheFeeds(this.manifest.cache, cache, seqLen) };
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
    for (const s of captureSites) fetches.push(s.capture);

    let out: ort.InferenceSession.ReturnType;
    try {
      out = await tier.session.run(feeds, fetches);
    } catch (err) {
      throw new RuntimeFailureError(`forward pass failed: ${(err as Error).message.split('\n')[0] ?? ''}`, { cause: err });
    }
    const result: ForwardResult = { captures: {}, cache: advanceCache(this.manifest.cache, cache, out, seqLen) };
    const logitsOut = wantLogits && logitsName ? out[logitsName] : undefined;
    const hiddenOut = wantLogits && lastHidden ? out[lastHidden] : undefined;
    if (logitsOut) result.logits = toFloat32(logitsOut);
    if (hiddenOut) result.lastHidden = toFloat32(hiddenOut);
    for (const s of captureSites) {
      const t = out[s.capture];
      if (t) result.captures[s.name] = toFloat32(t);
    }
    return result;
  }

  async release(): Promise<void> {
    const full = this.fullTier ?? (this.fullOpening ? await this.fullOpening.catch(() => undefined) : undefined);
    await this.lean?.session.release();
    if (full) await full.session.release();
    await this.fitted?.release();
  }
}
