/**
 * A chart as a Jupyter MIME bundle: the vega-lite spec (JupyterLab and VS Code
 * render `application/vnd.vegalite.v5+json`) together with the same chart
 * pre-rendered to SVG (GitHub and nbviewer show `image/svg+xml`, and ignore
 * the spec), and a plain-text title for consoles. One output, both views:
 * each front end picks the richest type it knows.
 */
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from './charts.js';

export const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';

export interface ChartBundle {
  [VEGA_LITE_MIME]: TopLevelSpec;
  'image/svg+xml': string;
  'text/plain': string;
}

function titleOf(spec: TopLevelSpec): string {
  const t = (spec as { title?: unknown }).title;
  if (typeof t === 'string') return t;
  if (t !== null && typeof t === 'object' && 'text' in t && typeof t.text === 'string') return t.text;
  return 'vega-lite chart';
}

export async function chartBundle(spec: TopLevelSpec): Promise<ChartBundle> {
  return { [VEGA_LITE_MIME]: spec, 'image/svg+xml': await renderSvg(spec), 'text/plain': `[chart] ${titleOf(spec)}` };
}
