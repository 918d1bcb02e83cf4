/** A few lines describing a steering vector, for the CLI. */
import type { SteeringVector } from '../../vectors/vector.js';

export function summarizeVector(v: SteeringVector): string {
  const m = v.meta;
  const lines = [
    `${m.name ?? 'vector'}: ${m.method}, read ${m.read ?? '?'}, ${m.dataset ? `${m.dataset.pairs} pairs (sha256 ${m.dataset.sha256.slice(0, 12)}…)` : 'no dataset'}`,
    `model ${m.model.architecture}, hidden ${m.model.hiddenSize}, fingerprint ${m.model.fingerprint.slice(0, 16)}…`,
  ];
  if (m.sources) lines.push(`difference of preferred model ${m.sources.preferred.fingerprint.slice(0, 16)}… and dispreferred model ${m.sources.dispreferred.fingerprint.slice(0, 16)}…`);
  for (const site of v.sites) {
    const s = m.sites[site];
    const sep = s?.separability;
    lines.push(`  ${site}: norm ${(s?.norm ?? 0).toFixed(3)}, |mean diff| ${(s?.contrastNorm ?? 0).toFixed(2)}, |h| ${(s?.residualNorm ?? 0).toFixed(1)}` +
      (sep ? `, held-out accuracy ${sep.accuracy.toFixed(2)} (probe ${sep.probeAccuracy.toFixed(2)}), effect size ${sep.effectSize.toFixed(2)}` : ''));
    const f = s?.lowRankFit;
    if (f) lines.push(`    low-rank map: rank ${f.rank}, λ ${f.lambdaScale}×tr/H, held-out R² ${f.r2.toFixed(3)} (constant vector ${f.r2Constant.toFixed(3)}), ${f.samples} tokens`);
  }
  const rc = m.recommendedStrength?.criterion;
  if (m.recommendedStrength) lines.push(`${rc ? `recommended strengths (chosen by ${rc.name})` : 'fluent strengths'}: ${m.recommendedStrength.min.toFixed(2)} … ${m.recommendedStrength.max.toFixed(2)}`);
  return lines.join('\n');
}
