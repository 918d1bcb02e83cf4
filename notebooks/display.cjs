// Shared by the notebooks: shows a vega-lite chart as ONE output carrying both
// the spec (application/vnd.vegalite.v5+json, rendered by JupyterLab and VS Code)
// and the same chart pre-rendered to SVG (image/svg+xml, shown by GitHub and
// nbviewer). The bundle comes from the package (chartBundle: vega renders SVG in
// Node, no canvas). tslab's public display.raw() sends one MIME type per output,
// so the bundle goes through the kernel's display writer, which display.raw()
// itself calls.
const { chartBundle } = require('..');

exports.showChart = async function showChart(spec) {
  const bundle = await chartBundle(spec);
  const jupyter = require('tslab/dist/jupyter');
  if (typeof jupyter.lastWriteDisplayData !== 'function') throw new Error('showChart runs inside the tslab kernel only');
  jupyter.lastWriteDisplayData({ data: bundle, metadata: {}, transient: {} }, false);
};
