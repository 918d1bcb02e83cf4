/**
 * Charts of an A/B run as vega-lite specs, rendered to SVG headless in Node
 * (vega's View with renderer `none`, then toSVG(); no canvas, no browser):
 *
 * - gold reward vs KL to π_ref, one point per arm, with the 95% CI of gold;
 * - proxy vs gold reward, one point per candidate, by pool;
 * - gold (and proxy) reward vs N for BoN and MBR-BoN: the overoptimization curves.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ABResult } from '../harness.js';

const WIDTH = 420;
const HEIGHT = 300;

export function goldVsKlSpec(result: ABResult): TopLevelSpec {
  const values = result.arms
    .filter((a) => a.kl.estimate !== null && a.gold !== null)
    .map((a) => ({ arm: a.arm.id, kind: a.arm.kind, kl: a.kl.estimate, gold: a.gold?.mean, lo: a.gold?.lo, hi: a.gold?.hi }));
  const maxKl = Math.max(0, ...values.map((v) => v.kl ?? 0));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Gold reward (${result.config.gold}) vs KL to the reference model`,
    width: WIDTH, height: HEIGHT,
    data: { values },
    encoding: {
      x: { field: 'kl', type: 'quantitative', scale: { type: 'symlog', domain: [0, maxKl > 0 ? maxKl * 1.2 : 1], nice: false }, title: 'KL(arm ‖ π_ref), nats (empirical estimate; symlog scale)' },
      color: { field: 'arm', type: 'nominal', title: 'arm', sort: null, scale: { scheme: 'tableau20' } },
    },
    layer: [
      { mark: { type: 'rule', opacity: 0.6 }, encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
      {
        mark: { type: 'point', filled: true, size: 70 },
        encoding: { y: { field: 'gold', type: 'quantitative', title: `mean gold (${result.config.gold}), 95% CI`, scale: { zero: false } }, shape: { field: 'kind', type: 'nominal', title: 'kind' } },
      },
    ],
  };
}

export function proxyVsGoldSpec(result: ABResult): TopLevelSpec {
  const values = result.pools.flat().flatMap((p) => p.candidates
    .filter((c) => c.proxy !== null && c.gold !== null)
    .map((c) => ({ pool: p.key, proxy: c.proxy, gold: c.gold })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Proxy (${result.config.proxy}) vs gold (${result.config.gold}), every candidate`,
    width: WIDTH, height: HEIGHT,
    data: { values },
    mark: { type: 'circle', opacity: 0.35, size: 14 },
    encoding: {
      x: { field: 'proxy', type: 'quantitative', title: `proxy: ${result.config.proxy}` },
      y: { field: 'gold', type: 'quantitative', title: `gold: ${result.config.gold}` },
      color: { field: 'pool', type: 'nominal' },
    },
  };
}

export function rewardVsNSpec(result: ABResult): TopLevelSpec {
  const values = result.overoptimization.points.flatMap((p) => [
    { method: p.label, n: p.n, measure: `gold (${result.config.gold})`, mean: p.gold.mean, lo: p.gold.lo, hi: p.gold.hi },
    { method: p.label, n: p.n, measure: `proxy (${result.config.proxy})`, mean: p.proxy.mean, lo: p.proxy.lo, hi: p.proxy.hi },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Selected with the proxy: reward of the picks vs N',
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null } },
    spec: {
      width: 300, height: 240,
      encoding: {
        x: { field: 'n', type: 'quantitative', scale: { type: 'log', base: 2 }, axis: { values: result.overoptimization.ns, format: 'd' }, title: 'N (candidates)' },
        color: { field: 'method', type: 'nominal', title: 'selector', sort: null },
      },
      layer: [
        { mark: { type: 'area', opacity: 0.12 }, encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
        { mark: { type: 'line', point: true }, encoding: { y: { field: 'mean', type: 'quantitative', title: 'mean reward of the picks', scale: { zero: false } }, strokeDash: { field: 'method', type: 'nominal' } } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** Renders a vega-lite spec to an SVG string (no canvas or browser needed). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // loaded on first use: vega's canvas probe uses top-level await, which would
  // stop require() of the package (CommonJS consumers such as tslab notebooks)
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface RenderedCharts {
  goldVsKl: string;
  proxyVsGold: string;
  rewardVsN: string;
}

export async function renderCharts(result: ABResult): Promise<RenderedCharts> {
  return {
    goldVsKl: await renderSvg(goldVsKlSpec(result)),
    proxyVsGold: await renderSvg(proxyVsGoldSpec(result)),
    rewardVsN: await renderSvg(rewardVsNSpec(result)),
  };
}
