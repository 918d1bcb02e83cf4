/**
 * Fitted sessions: on a model whose weights are small, a decode step costs
 * little more than onnxruntime's per-node and per-input overhead, so every
 * hook node shows. On the default model the lean session (steering adds at
 * every site, see hooks/specialize.ts) ran unused at 0.85 of the unhooked
 * graph, and its unfetched capture outputs alone cost a further 5–10 %. A
 * fitted runner gives a recurring kind of step a session of its own whose
 * graph has exactly the operators and capture outputs that step uses:
 *
 *   no hook feeds, no captures  → the unhooked graph, node for node;
 *   steering at some sites      → one folded `Sum` at those sites only;
 *   ablating at a site          → that site's ablation sub-graph only.
 *
 * A key's session opens once the key has recurred {@link FIT_AFTER} times
 * (every decode step of a generation repeats its key; a prompt pass or a
 * one-off capture runs on the covering session instead, so they never cost a
 * session build). Each fitted session holds its own copy of the weights, so
 * the runner uses them only under a weight budget (runner.ts) and keeps at
 * most `maxSessions`, closing the least recently used idle one.
 */
import type * as ort from 'onnxruntime-node';
import type { HookInputKind } from '../hooks/insert.js';
import type { HookSiteInfo } from '../hooks/manifest.js';
import type { HookPacker } from './packing.js';

/** One open session with its hook-input packer and the per-site feed names it accepts. */
export interface Tier { session: ort.InferenceSession; packer: HookPacker; names: ReadonlySet<string> }

/** What a fitted graph keeps: operator kinds per site name, and the sites whose captures it outputs. */
export interface Fit { kinds: ReadonlyMap<string, ReadonlySet<HookInputKind>>; captures: ReadonlySet<string> }

/** Steps a key must recur before it gets a session of its own. */
export const FIT_AFTER = 8;

interface Entry { key: string; tier?: Tier; opening?: Promise<Tier | undefined>; busy: number; used: number }

export class FittedSessions {
  private readonly byInput = new Map<string, { site: string; kind: HookInputKind }>();
  private readonly entries = new Map<string, Entry>();
  private readonly seen = new Map<string, number>();
  /** Step keys in feed order → their canonical (sorted) key. */
  private readonly canonical = new Map<string, string>();
  private clock = 0;
  /** Why a fitted graph could not be built; every step then runs on the covering session. */
  failure: Error | undefined;

  constructor(
    sites: readonly HookSiteInfo[],
    private readonly open: (fit: Fit) => Promise<Tier>,
    private readonly maxSessions: number,
  ) {
    for (const s of sites) {
      this.byInput.set(s.steer, { site: s.name, kind: 'steer' });
      if (s.ablate) this.byInput.set(s.ablate, { site: s.name, kind: 'ablate' });
      if (s.renorm) this.byInput.set(s.renorm, { site: s.name, kind: 'renorm' });
    }
  }

  /** Open fitted sessions. */
  get size(): number { return [...this.entries.values()].filter((e) => e.tier).length; }

  /**
   * The fitted session for a step, or undefined when the step should run on
   * the covering session (the key is new, has not recurred enough, or uses a
   * feed a fitted graph cannot carry). `done` must be called after the run.
   */
  async acquire(hookFeeds: Record<string, ort.Tensor> | undefined, captures: readonly string[]): Promise<{ tier: Tier; done: () => void } | undefined> {
    if (this.failure) return undefined;
    const names = hookFeeds ? Object.keys(hookFeeds) : [];
    const raw = `${names.join(',')}|${captures.join(',')}`;
    let key = this.canonical.get(raw);
    if (key === undefined) {
      if (names.some((n) => !this.byInput.has(n))) return undefined;
      key = `${[...names].sort().join(',')}|${[...new Set(captures)].sort().join(',')}`;
      if (this.canonical.size > 4096) this.canonical.clear();
      this.canonical.set(raw, key);
    }
    let entry = this.entries.get(key);
    if (!entry) {
      const n = (this.seen.get(key) ?? 0) + 1;
      this.seen.set(key, n);
      if (n < FIT_AFTER) return undefined;
      this.seen.delete(key);
      entry = { key, busy: 0, used: 0 };
      const e = entry;
      this.entries.set(key, e);
      e.opening = this.open(this.fitOf(names, captures)).then((t) => { e.tier = t; return t; }, (err: unknown) => { this.entries.delete(e.key); this.failure = err instanceof Error ? err : new Error(String(err)); return undefined; });
      await this.evict();
    }
    const e = entry;
    const tier = e.tier ?? (e.opening ? await e.opening : undefined);
    // Closed while this step waited for it to open: run on the covering session.
    if (!tier || this.entries.get(key) !== e) return undefined;
    e.busy++;
    e.used = ++this.clock;
    return { tier, done: () => { e.busy--; } };
  }

  private fitOf(names: readonly string[], captures: readonly string[]): Fit {
    const kinds = new Map<string, Set<HookInputKind>>();
    for (const n of names) {
      const at = this.byInput.get(n);
      if (!at) continue;
      let set = kinds.get(at.site);
      if (!set) { set = new Set(); kinds.set(at.site, set); }
      set.add(at.kind);
    }
    return { kinds, captures: new Set(captures) };
  }

  /** Closes least recently used idle sessions beyond `maxSessions`. */
  private async evict(): Promise<void> {
    while (this.entries.size > this.maxSessions) {
      const idle = [...this.entries.values()].filter((e) => e.tier && e.busy === 0).sort((a, b) => a.used - b.used)[0];
      if (!idle?.tier) return;
      this.entries.delete(idle.key);
      await idle.tier.session.release();
    }
  }

  async release(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) {
      const t = e.tier ?? (e.opening ? await e.opening : undefined);
      if (t) await t.session.release();
    }
  }
}
