/**
 * The direction-method registry. A method is a small factory returning a
 * typed function from contrast samples to a direction; every method orients
 * its result so the preferred side projects higher. The built-in ones are
 * the files in ./methods/ (each default-exports its MethodSpec), listed by
 * the generated methods.generated.ts:
 *
 * - `mean-diff`: mean of (pos − neg) over samples, unnormalised.
 * - `pca-diff`: first principal component of the differences (repeng).
 * - `pca-center`: first principal component of the midpoint-centred rows (repeng).
 * - `probe`: logistic-regression weight direction (steering-vectors).
 *
 * A new method is one file in ./methods/ (then `npx tsx scripts/registries.ts`),
 * or a `registerMethod` call from user code.
 */
import { InvalidArgumentError } from '../errors.js';
import type { MethodSpec } from './method-types.js';
import { BUILTIN_METHODS } from './methods.generated.js';

export type { DirectionMethod, MethodSpec } from './method-types.js';
export { meanDiff } from './methods/mean-diff.js';
export { pcaCenter } from './methods/pca-center.js';
export { pcaDiff } from './methods/pca-diff.js';
export { probe, type ProbeOptions } from './methods/probe.js';
export { firstPrincipalComponent } from './pca.js';

const REGISTRY = new Map<string, MethodSpec>();

export function registerMethod(spec: MethodSpec): void {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.name)) throw new InvalidArgumentError(`method names are lower-case words with dashes, got "${spec.name}"`);
  REGISTRY.set(spec.name, spec);
}

export function methodSpec(name: string): MethodSpec {
  const spec = REGISTRY.get(name);
  if (!spec) throw new InvalidArgumentError(`unknown method "${name}" (available: ${methodNames().join(', ')})`);
  return spec;
}

export function methodNames(): string[] {
  return [...REGISTRY.keys()];
}

for (const spec of BUILTIN_METHODS) registerMethod(spec);
