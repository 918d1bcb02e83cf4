/**
 * The utility registry: MBR utilities by the head of their spec (aliases
 * included). parseUtility, the `bon` and `ab` commands and the library read
 * it. Add one with a file in ./kinds/ default-exporting a UtilityKind (or a
 * readonly array of related kinds) and `npx tsx scripts/registries.ts`,
 * which rewrites builtin.generated.ts; or at run time with registerUtility.
 */
import { InvalidArgumentError } from '../errors.js';
import { BUILTIN_UTILITIES } from './builtin.generated.js';
import type { UtilityKind } from './spec.js';

const KINDS = new Map<string, UtilityKind>();
const HEADS = new Map<string, UtilityKind>();

/** Adds (or replaces) a utility kind. */
export function registerUtility(kind: UtilityKind): void {
  if (!/^[a-z][a-z0-9-]*$/.test(kind.name)) throw new InvalidArgumentError(`utility kinds are lower-case words with dashes, got "${kind.name}"`);
  KINDS.set(kind.name, kind);
  for (const head of [kind.name, ...(kind.aliases ?? [])]) HEADS.set(head, kind);
}

for (const kind of BUILTIN_UTILITIES) registerUtility(kind);

/** The kind a (lower-cased) spec head names, aliases included. */
export function utilityKind(head: string): UtilityKind | undefined {
  return HEADS.get(head);
}

export function utilityKinds(): UtilityKind[] {
  return [...KINDS.values()];
}

export function utilityUsages(): string[] {
  return utilityKinds().map((k) => k.usage);
}
