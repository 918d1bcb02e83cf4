/** Normal samples for random-init weights, from the library's seeded generator. */
import { Rng } from '../generation/rng.js';

export { Rng };

/** Fills `out` with normal samples of standard deviation `std` (Box–Muller, two per draw). */
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
