/**
 * A content checksum of a steering vector: SHA-256 over its sites (sorted)
 * and their float32 directions, little-endian. Two files hold the same
 * steering exactly when their checksums agree, whatever their names, paths
 * or metadata; `GET /v1/steering/vectors` lists it so a client can find the
 * server's name for a vector it holds locally.
 */
import { createHash } from 'node:crypto';
import type { SteeringVector } from './vector.js';

export function vectorChecksum(vector: SteeringVector): string {
  const h = createHash('sha256');
  for (const site of [...vector.sites].sort()) {
    const d = vector.direction(site);
    const le = Buffer.alloc(d.length * 4);
    for (let i = 0; i < d.length; i++) le.writeFloatLE(d[i] as number, i * 4);
    h.update(site).update('\0').update(le);
  }
  return `sha256:${h.digest('hex')}`;
}
