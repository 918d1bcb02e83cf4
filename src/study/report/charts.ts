/**
 * The study's charts as vega-lite specs (rendered to SVG by src/ab/report's
 * renderSvg), one facet per proxy and pool:
 *
 * - gold reward of the picks vs N, BoN and the calibrated MBR-BoN / KL-BoN,
 *   with the 95% bootstrap CI over prompts;
 * - gold vs KL to π_ref (plug-in estimates; BoN's analytic log N − (N−1)/N as
 *   its own series);
 * - gold at N_max vs the relative β of the grid (c = 0 is BoN).
 */
import type { TopLevelSpec } from 'vega-lite';
import { armLabel } from '../curves.js';
import type { StudyResult } from '../run.js';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

function facetLabel(r: StudyResult, proxy: string, policy: string): string {
  const label = r.config.proxies.find((p) => p.spec === proxy)?.label ?? proxy;
  return `${label}: ${proxy}${policy === 'steered' ? ' (steered pool)' : ''}`;
}

/** One panel per facet (proxy and pool), four to a row, each panel's spec inside. */
function facetted(title: string, values: object[], spec: Record<string, unknown>, independent: ('x' | 'y')[]): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    data: { values },
    facet: { field: 'facet', type: 'nominal', title: null, sort: null },
    columns: 4,
    spec: { width: 220, height: 170, ...spec },
    resolve: { scale: Object.fromEntries(independent.map((axis) => [axis, 'independent'])) },
  } as TopLevelSpec;
}

const SELECTOR_NAME: Record<string, string> = { bon: 'BoN', 'mbr-bon': 'MBR-BoN', 'kl-bon': 'KL-BoN' };

export function goldVsNSpec(r: StudyResult): TopLevelSpec {
  const values = r.points.filter((p) => p.calibrated).map((p) => ({
    facet: facetLabel(r, p.proxy, p.policy), selector: SELECTOR_NAME[p.selector], arm: armLabel(p), n: p.n, gold: p.gold.mean, lo: p.gold.lo, hi: p.gold.hi,
  }));
  return facetted(`Gold (${r.config.gold}) of the proxy's picks vs N, calibrated β; 95% CI over prompts`, values, {
    encoding: {
      x: { field: 'n', type: 'quantitative', scale: { type: 'log', base: 2 }, axis: { values: r.config.ns, format: 'd' }, title: 'N' },
      color: { field: 'selector', type: 'nominal', title: 'selector', sort: ['BoN', 'MBR-BoN', 'KL-BoN'] },
    },
    layer: [
      { mark: { type: 'area', opacity: 0.12 }, encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
      { mark: { type: 'line', point: true }, encoding: { y: { field: 'gold', type: 'quantitative', title: 'mean gold', scale: { zero: false } } } },
    ],
  }, ['y']);
}

export function goldVsKlSpec(r: StudyResult): TopLevelSpec {
  const values = r.points.filter((p) => p.calibrated && p.kl).flatMap((p) => {
    const base = { facet: facetLabel(r, p.proxy, p.policy), n: p.n, gold: p.gold.mean };
    const out = [{ ...base, series: `${SELECTOR_NAME[p.selector] ?? p.selector} (plug-in KL)`, kl: p.kl?.plugin ?? null }];
    if (p.kl?.analytic !== null && p.kl?.analytic !== undefined) out.push({ ...base, series: 'BoN (analytic KL)', kl: p.kl.analytic });
    return out.filter((v) => v.kl !== null);
  });
  return facetted(`Gold (${r.config.gold}) vs KL to π_ref, N = 1 … ${r.config.nMax}`, values, {
    encoding: {
      x: { field: 'kl', type: 'quantitative', title: 'KL (nats)' },
      y: { field: 'gold', type: 'quantitative', title: 'mean gold', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
      order: { field: 'n', type: 'quantitative' },
    },
    mark: { type: 'line', point: true },
  }, ['y', 'x']);
}

export function goldVsBetaSpec(r: StudyResult): TopLevelSpec {
  const n = r.config.nMax;
  const values = r.points.filter((p) => p.n === n && p.selector !== 'bon').map((p) => ({
    facet: facetLabel(r, p.proxy, p.policy), selector: SELECTOR_NAME[p.selector], c: p.relative, gold: p.gold.mean, calibrated: p.calibrated,
  }));
  return facetted(`Gold (${r.config.gold}) at N = ${n} vs β (c = β / s; c = 0 is BoN); filled: the calibrated β`, values, {
    encoding: {
      x: { field: 'c', type: 'quantitative', scale: { type: 'symlog', constant: 0.01 }, title: 'c (relative β)' },
      y: { field: 'gold', type: 'quantitative', title: `mean gold at N = ${n}`, scale: { zero: false } },
      color: { field: 'selector', type: 'nominal', title: 'selector' },
    },
    layer: [
      { mark: { type: 'line' } },
      { mark: { type: 'point', size: 40 }, encoding: { fill: { condition: { test: 'datum.calibrated', field: 'selector', type: 'nominal' }, value: 'white' } } },
    ],
  }, ['y']);
}
