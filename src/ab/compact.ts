/**
 * A compact A/B comparison for the end of a demo: baseline, steering, BoN and
 * MBR-BoN on a handful of prompts, proxy `afinn` for selection and gold
 * `vader` for judging (by default), as table rows plus a plain-text
 * formatter. It is a small runAB() with a fixed β.
 */
import { parseReward } from '../rewards/parse.js';
import type { HookedModel } from '../model/hooked-model.js';
import { parseUtility } from '../utilities/parse.js';
import { runAB, type ABResult, type Steerer } from './harness.js';
import type { ArmResult } from './metrics.js';
import type { SamplingOptions } from './pool.js';

/** Story openings for the compact run (distinct from the vector's training pairs). */
export const COMPACT_PROMPTS: readonly string[] = [
  'Once upon a time, there was a little boy named Oliver. ',
  'One day, Nora went to the market with her grandpa. ',
  'Finn had a green toy truck. ',
  'Rosie wanted to climb the tall apple tree. ',
  'One rainy day, Leo stayed inside with his sister. ',
  'Daisy got a new pair of shoes. ',
  'Once upon a time, a small penguin wanted to fly. ',
  'Charlie and his dad went to the fair. ',
];

/**
 * β used when none is given: the best β at N = 8 when calibrating MBR-BoN with
 * the `hidden` utility, proxy afinn and gold vader on the shipped dev prompts
 * (mean gold 0.919 against 0.916 at β = 0: within noise of plain BoN).
 */
export const COMPACT_DEFAULT_BETA = 3;

export interface CompactOptions {
  prompts?: readonly string[];
  /** Candidates per prompt for BoN and MBR-BoN (default 8). */
  n?: number;
  /** Steering strength (default: the vector's recommended maximum, else 2). */
  strength?: number;
  beta?: number;
  proxy?: string;
  gold?: string;
  utility?: string;
  sampling?: SamplingOptions;
}

export interface CompactRow {
  arm: string;
  gold: number | null;
  goldLo: number | null;
  goldHi: number | null;
  proxy: number | null;
  winRate: number | null;
  kl: number | null;
  tokens: number;
}

export interface CompactAB {
  rows: CompactRow[];
  proxy: string;
  gold: string;
  result: ABResult;
  format(): string;
}

type CompactVector = Steerer & { readonly meta?: { readonly recommendedStrength?: { min: number; max: number } } };

function row(a: ArmResult): CompactRow {
  return {
    arm: a.arm.id,
    gold: a.gold?.mean ?? null, goldLo: a.gold?.lo ?? null, goldHi: a.gold?.hi ?? null,
    proxy: a.proxy?.mean ?? null,
    winRate: a.winRate?.mean ?? null,
    kl: a.kl.estimate,
    tokens: a.cost.generatedTokens,
  };
}

const f = (v: number | null, d = 3) => (v === null || !Number.isFinite(v) ? '—' : v.toFixed(d));

export function formatCompact(rows: readonly CompactRow[], proxy: string, gold: string): string {
  const header = ['arm', `gold (${gold}) [95% CI]`, `proxy (${proxy})`, 'win vs baseline', 'KL (nats)', 'tokens'];
  const body = rows.map((r) => [r.arm, `${f(r.gold)} [${f(r.goldLo)}, ${f(r.goldHi)}]`, f(r.proxy), f(r.winRate, 2), f(r.kl), String(r.tokens)]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((b) => (b[c] as string).length)));
  const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c] as number)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

export async function runCompactAB(model: HookedModel, vector: CompactVector, options: CompactOptions = {}): Promise<CompactAB> {
  const n = options.n ?? 8;
  const strength = options.strength ?? vector.meta?.recommendedStrength?.max ?? 2;
  const proxySpec = options.proxy ?? 'afinn';
  const goldSpec = options.gold ?? 'vader';
  const result = await runAB(model, {
    prompts: options.prompts ?? COMPACT_PROMPTS,
    vector,
    strengths: [strength],
    ns: [n],
    proxy: await parseReward(proxySpec, { model }),
    gold: await parseReward(goldSpec, { model }),
    utility: parseUtility(options.utility ?? 'hidden', { model }),
    beta: options.beta ?? COMPACT_DEFAULT_BETA,
    sampling: { maxNewTokens: 48, ...(options.sampling ?? {}) },
    klResamples: 200,
    bootstrapResamples: 1000,
  });
  const wanted = new Set(['baseline', 'steering', 'bon', 'mbr-bon']);
  const rows = result.arms.filter((a) => wanted.has(a.arm.kind)).map(row);
  return { rows, proxy: proxySpec, gold: goldSpec, result, format: () => formatCompact(rows, proxySpec, goldSpec) };
}
