/**
 * Seeded random numbers (sampling, bootstrap resampling, random-init weights):
 * xoshiro128** seeded through splitmix32.
 * Each row of a batch owns its generator, so a row's stream does not depend on
 * the other rows.
 */

function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [s, (z ^ (z >>> 16)) >>> 0];
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let st = seed >>> 0;
    let v: number;
    [st, v] = splitmix32(st); this.s0 = v;
    [st, v] = splitmix32(st); this.s1 = v;
    [st, v] = splitmix32(st); this.s2 = v;
    [, v] = splitmix32(st); this.s3 = v;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 53 bits of randomness. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * The seed of row `k` for a request seeded with `seed`: row 0 uses `seed`
 * itself and row k > 0 a splitmix32 hash of (seed, k). A single-row run with
 * `rowSeed(seed, k)` reproduces row k of the batch exactly.
 */
export function rowSeed(seed: number, row: number): number {
  if (row === 0) return seed >>> 0;
  let st = (seed >>> 0) ^ Math.imul(row, 0x632be5ab);
  let v = 0;
  for (let i = 0; i < 2; i++) [st, v] = splitmix32(st);
  return v >>> 0;
}

/** Fills `out` with normal samples of standard deviation `std` (Box–Muller, two per draw), e.g. random-init weights. */
export function fillNormal(rng: Rng, out: Float32Array, std: number): void {
  const n = out.length;
  const open = () => (rng.nextUint32() + 0.5) / 4294967296;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const r = std * Math.sqrt(-2 * Math.log(open()));
    const a = 2 * Math.PI * open();
    out[i] = r * Math.cos(a);
    out[i + 1] = r * Math.sin(a);
  }
  if (i < n) out[i] = std * Math.sqrt(-2 * Math.log(open())) * Math.cos(2 * Math.PI * open());
}
