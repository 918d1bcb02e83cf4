/** A chart as a notebook MIME bundle: the vega-lite spec and the same chart as SVG. */
import { describe, expect, it } from 'vitest';
import { chartBundle, VEGA_LITE_MIME } from '../../src/ab/report/bundle.js';

describe('chartBundle', () => {
  it('carries the spec unchanged, an SVG of it and a text title', async () => {
    const spec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: 'gold per arm',
      data: { values: [{ arm: 'baseline', gold: 0.5 }, { arm: 'bon(4)', gold: 0.8 }] },
      mark: 'bar' as const,
      encoding: { x: { field: 'arm', type: 'nominal' as const }, y: { field: 'gold', type: 'quantitative' as const } },
    };
    const b = await chartBundle(spec);
    expect(Object.keys(b).sort()).toEqual(['application/vnd.vegalite.v5+json', 'image/svg+xml', 'text/plain']);
    expect(b[VEGA_LITE_MIME]).toBe(spec);
    expect(b['image/svg+xml']).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(b['image/svg+xml']).toContain('gold per arm');
    expect(b['image/svg+xml']).toContain('bon(4)');
    expect(b['text/plain']).toBe('[chart] gold per arm');
  });
});
