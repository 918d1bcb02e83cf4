/**
 * The utility interface for MBR: u(y, y') between candidates of one prompt,
 * and the full N×N matrix m[i·N + j] = u(y_i, y_j) as a Float64Array.
 */

export interface UtilityItem {
  response: string;
  ids?: readonly number[];
  /** Policy activations pooled over the response tokens, by hook site. */
  activations?: Readonly<Record<string, Float32Array>>;
}

export interface Utility {
  readonly spec: string;
  /** The registered kind: hidden, minilm, rouge-l, chrf, or one added with registerUtility. */
  readonly kind: string;
  /** The range of u: [−1, 1] for cosines, [0, 1] for lexical overlaps. */
  readonly bounds: readonly [number, number];
  /** Whether u(y, y') = u(y', y). */
  readonly symmetric: boolean;
  /** Hook sites whose pooled activations the utility reads from `item.activations`. */
  readonly sites: readonly string[];
  /** The N×N matrix, written into `out` (length N²) when given. */
  matrix(items: readonly UtilityItem[], out?: Float64Array): Promise<Float64Array>;
}

/** Runs `fn` and returns its result as a promise (a throw becomes a rejection). */
export function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
