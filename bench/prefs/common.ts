/** Shared bits of the preference measurement scripts. */
import { resolve } from 'node:path';

/** ../shared beside the repository (override with ONNX_STEER_SHARED). */
export const SHARED = resolve(process.env.ONNX_STEER_SHARED ?? resolve(import.meta.dirname, '..', '..', '..', 'shared'));

/** The value after `flag` on the command line, or `fallback`. */
export function arg(flag: string, fallback: string): string {
  const i = process.argv.indexOf(flag);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : fallback;
}

export const MODELS = {
  base: resolve(SHARED, 'models', 'tinystories-656k'),
  dpo: resolve(SHARED, 'models', 'tinystories-656k-dpo-joy'),
  sftJoy: resolve(SHARED, 'models', 'tinystories-656k-sft-joy'),
  sftSad: resolve(SHARED, 'models', 'tinystories-656k-sft-sad'),
};
