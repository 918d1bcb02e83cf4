/**
 * The content checksum of a loaded steering vector: the same `sha256:<hex>`
 * its file stores and verifies (format.ts: sites in order, directions and
 * low-rank maps). Two vectors hold the same steering exactly when their
 * checksums agree, whatever their names, paths or metadata;
 * `GET /v1/steering/vectors` lists it so a client can find the server's name
 * for a vector it holds locally.
 */
import { vectorChecksum, type LowRankArrays } from './format.js';
import type { SteeringVector } from './vector.js';

export function checksumOf(vector: SteeringVector): string {
  const maps = new Map<string, LowRankArrays>();
  for (const s of vector.sites) { const m = vector.lowRank(s); if (m) maps.set(s, m); }
  return vectorChecksum(vector.sites.map((s) => [s, vector.direction(s)] as const), maps);
}
