/** Whether a hooks.json and the graph beside it describe the same model. */
import { CorruptFileError, ModelMismatchError } from '../errors.js';
import type { ModelProto } from '../onnx/proto.js';
import type { HooksManifest } from './manifest.js';

/**
 * Refuses a model directory whose hooks.json and graph disagree: every hook
 * input the manifest names must be a graph input, every capture and output a
 * graph output. Otherwise steering an absent input would be a silent no-op.
 */
export function checkManifestAgainstGraph(manifest: HooksManifest, model: ModelProto, path: string): void {
  const graph = model.graph;
  if (!graph) throw new CorruptFileError(path, 'the model has no graph');
  const inputs = new Set([...graph.input.map((v) => v.name ?? ''), ...graph.initializer.map((t) => t.name ?? '')]);
  const outputs = new Set(graph.output.map((v) => v.name ?? ''));
  const disagree = (what: string, name: string) => new ModelMismatchError(`${path}: hooks.json names ${what} "${name}", which the graph does not have (the manifest and the graph disagree)`);
  for (const s of manifest.sites) {
    for (const [what, name] of [['steer input', s.steer], ['ablate input', s.ablate], ['renorm input', s.renorm]] as const) {
      if (name !== undefined && !inputs.has(name)) throw disagree(`the ${what} of ${s.name}`, name);
    }
    if (!outputs.has(s.capture)) throw disagree(`the capture output of ${s.name}`, s.capture);
  }
  const { inputIds, attentionMask, positionIds } = manifest.inputs;
  for (const i of [inputIds, attentionMask, positionIds]) if (i && !inputs.has(i.name)) throw disagree('input', i.name);
  for (const o of [manifest.outputs.logits, manifest.outputs.lastHidden]) if (o !== undefined && !outputs.has(o)) throw disagree('output', o);
}
