/**
 * Reading an effect curve at a matched perplexity ratio: walking from
 * strength 0 outward on one side, the first segment whose perplexity ratio
 * crosses `ratio` is interpolated linearly (strength and judge shift). When
 * the curve never gets that costly, the farthest measured point is returned,
 * marked `clipped`.
 */
import type { EvaluationReport } from '../src/vectors/evaluate.js';

export interface MatchedPoint { strength: number; delta: number; clipped: boolean }

export function atMatchedRatio(report: EvaluationReport, judge: string, ratio: number, side: 1 | -1): MatchedPoint | undefined {
  const base = report.points.find((p) => p.strength === 0);
  if (!base) return undefined;
  const mean = (p: (typeof report.points)[number]) => (p.judges[judge]?.mean ?? 0) - (base.judges[judge]?.mean ?? 0);
  const walk = [base, ...report.points.filter((p) => Math.sign(p.strength) === side).sort((a, b) => Math.abs(a.strength) - Math.abs(b.strength))];
  for (let i = 1; i < walk.length; i++) {
    const a = walk[i - 1] as (typeof walk)[number];
    const b = walk[i] as (typeof walk)[number];
    if (b.perplexityRatio >= ratio && a.perplexityRatio < ratio) {
      const t = (ratio - a.perplexityRatio) / (b.perplexityRatio - a.perplexityRatio);
      return { strength: a.strength + t * (b.strength - a.strength), delta: mean(a) + t * (mean(b) - mean(a)), clipped: false };
    }
  }
  const last = walk[walk.length - 1];
  if (!last || last === base) return undefined;
  // Never reached the ratio: report the strongest point measured below it.
  const below = walk.filter((p) => p.perplexityRatio < ratio);
  const far = below[below.length - 1] ?? last;
  return { strength: far.strength, delta: mean(far), clipped: true };
}

/** The markdown table of one curve: strength, VADER mean and shift, AFINN, perplexity and ratio. */
export function curveTable(report: EvaluationReport): string {
  const base = report.points.find((p) => p.strength === 0)?.judges.vader?.mean ?? 0;
  const lines = ['| strength | VADER mean | Δ vs unsteered | AFINN mean | perplexity | ratio |', '|---:|---:|---:|---:|---:|---:|'];
  for (const p of report.points) {
    const v = p.judges.vader?.mean ?? 0;
    lines.push(`| ${p.strength} | ${v.toFixed(3)} | ${v - base >= 0 ? '+' : ''}${(v - base).toFixed(3)} | ${(p.judges.afinn?.mean ?? 0).toFixed(3)} | ${p.perplexity.toFixed(2)} | ${p.perplexityRatio.toFixed(2)} |`);
  }
  return lines.join('\n');
}
