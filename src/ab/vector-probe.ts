/**
 * `probe:<file>` rewards from either file kind: an onnx-steer vector file
 * (its first site's direction is the probe; a vector made for another model
 * is refused) or the plain `{site, direction, bias?}` JSON of loadProbeJson.
 */
import { readFileSync } from 'node:fs';
import { loadProbeJson } from '../rewards/kinds/probe.js';
import type { ProbeDirection, VectorLoader } from '../rewards/types.js';
import type { HookedModel } from '../model/hooked-model.js';
import { mustExist } from '../files/fs.js';
import { VECTOR_FORMAT } from '../vectors/format.js';
import { SteeringVector } from '../vectors/vector.js';

export function vectorProbeLoader(model?: HookedModel): VectorLoader {
  return (path: string): ProbeDirection => {
    mustExist(path, 'probe vector');
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      return loadProbeJson(path); // reports the JSON error with the path
    }
    if ((raw as { format?: unknown } | null)?.format !== VECTOR_FORMAT) return loadProbeJson(path);
    const vector = SteeringVector.fromJSON(raw, path);
    if (model) vector.check(model);
    const site = vector.sites[0] as string;
    return { site, direction: vector.direction(site) };
  };
}
