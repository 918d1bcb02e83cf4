/** Markdown tables of a pattern report. */
import type { PatternReport } from './run.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const ci = (c: readonly [number, number]) => `[${pct(c[0])}, ${pct(c[1])}]`;

export function formatPatterns(r: PatternReport): string {
  const s = r.setup;
  const lines = [
    `${s.trainPrompts} training + ${s.heldOutPrompts} held-out prompts × ${s.n} samples (temperature ${s.temperature}, ${s.maxNewTokens} new tokens, seed ${s.seed}); verifier ${s.verifier}`,
    `patterns: k = ${r.clustering.k} (${r.clustering.method} on ${r.clustering.utility} embeddings, silhouette ${r.clustering.silhouette.toFixed(3)})`,
    '',
    '| pattern | size | share | π_ref mass | success (train) | 95% CI | held-out size | held-out success | example |',
    '|---:|---:|---:|---:|---:|---|---:|---:|---|',
    ...r.patterns.map((p) => `| ${p.id} | ${p.size} | ${pct(p.share)} | ${pct(p.refMass)} | ${pct(p.success)} | ${ci(p.ci)} | ${p.heldOutSize} | ${p.heldOutSize > 0 ? pct(p.heldOutSuccess) : '–'} | ${(p.examples[0] ?? '').replace(/\s+/g, ' ').replace(/\|/g, '\\|').slice(0, 70)} |`),
    '',
    `Selectors on the held-out prompts (expected verified success of the chosen candidate, mean over prompts, bootstrap 95% CI; β = ${s.beta}):`,
    '',
    '| selector | success | 95% CI |',
    '|---|---:|---|',
    ...Object.entries(r.selectors).map(([name, v]) => `| ${name} | ${pct(v.success)} | ${ci(v.ci)} |`),
    '',
  ];
  if (r.steering.site === null) {
    lines.push(`Steering toward pattern ${r.steering.bestPattern}: not measured (it needs the model's activations; --strengths none).`);
    return lines.join('\n');
  }
  lines.push(
    `Steering toward pattern ${r.steering.bestPattern} (mean-diff of its training activations at ${r.steering.site} against the others), held-out prompts, same seeds:`,
    '',
    '| strength | success | 95% CI |',
    '|---:|---:|---|',
    `| 0 (unsteered) | ${pct(r.steering.baseline.success)} | ${ci(r.steering.baseline.ci)} |`,
    ...r.steering.strengths.map((x) => `| ${x.strength} | ${pct(x.success)} | ${ci(x.ci)} |`),
  );
  return lines.join('\n');
}
