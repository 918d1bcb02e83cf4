/**
 * A backend whose results go through a journal: a request already in the
 * journal is answered from it, any other is sent and its result appended.
 * Request keys hash the operation, the backend's identity and the whole
 * request, steering included (vectors by content checksum).
 */
import { createHash } from 'node:crypto';
import type { ScoredContinuation } from '../generation/score.js';
import { Steering } from '../vectors/steering.js';
import { checksumOf } from '../vectors/checksum.js';
import { hashOf, type Journal } from './journal.js';
import type { Backend, BackendSteering, DrawRequest, DrawResult, ScoreRequest } from './types.js';

function floatsHash(v: Float32Array): string {
  return createHash('sha256').update(Buffer.from(v.buffer, v.byteOffset, v.byteLength)).digest('hex');
}

/** A value that identifies a steering: terms with vector checksums, or a plan's interventions with hashed vectors. */
export function steeringKey(s: BackendSteering | undefined): unknown {
  if (s === undefined) return null;
  if (s instanceof Steering) {
    return s.terms.map(({ vector, ...options }) => ({ vector: checksumOf(vector), ...options }));
  }
  return s.map(({ vector, lowRank, ...rest }) => ({
    ...rest, vector: floatsHash(vector),
    ...(lowRank ? { lowRank: { rank: lowRank.rank, v: floatsHash(lowRank.v), u: floatsHash(lowRank.u) } } : {}),
  }));
}

export function journaled(backend: Backend, journal: Journal): Backend {
  const keyOf = (op: string, req: DrawRequest | ScoreRequest) => hashOf({ op, backend: backend.info.id, ...req, steering: steeringKey(req.steering) });
  return {
    info: backend.info,
    model: backend.model,
    prepare: (needs) => backend.prepare(needs),
    async draw(req) {
      const key = keyOf('draw', req);
      const hit = journal.get(key) as DrawResult | undefined;
      if (hit) return structuredClone(hit);
      const res = await backend.draw(req);
      journal.append(key, 'draw', res);
      return res;
    },
    async score(req) {
      const key = keyOf('score', { ...req, continuations: req.continuations.map((c) => [...c]) });
      const hit = journal.get(key) as ScoredContinuation[] | undefined;
      if (hit) return structuredClone(hit);
      const res = await backend.score(req);
      journal.append(key, 'score', res);
      return res;
    },
  };
}
