/** Benchmark statistics: medians over repeated runs, and A/B ratios measured alternately. */

export interface Summary { median: number; min: number; max: number; runs: number }

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, runs: s.length };
}

export interface BenchConfig { warmup: number; runs: number }

/** Times `fn` (ms) after warm-up runs. */
export async function timeRuns(fn: () => Promise<unknown>, cfg: BenchConfig): Promise<number[]> {
  for (let i = 0; i < cfg.warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < cfg.runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/**
 * Runs A and B alternately (A B A B …) after warming both, and returns both
 * series plus the per-pair ratios A/B, so machine noise hits both sides alike.
 */
export async function alternate(a: () => Promise<unknown>, b: () => Promise<unknown>, cfg: BenchConfig): Promise<{ a: number[]; b: number[]; ratio: number[] }> {
  for (let i = 0; i < cfg.warmup; i++) { await a(); await b(); }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < cfg.runs; i++) {
    let t = performance.now(); await a(); ta.push(performance.now() - t);
    t = performance.now(); await b(); tb.push(performance.now() - t);
  }
  return { a: ta, b: tb, ratio: ta.map((x, i) => x / (tb[i] as number)) };
}
