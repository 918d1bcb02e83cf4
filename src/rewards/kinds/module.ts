/**
 * Rewards written by the user as a JavaScript module export:
 *
 * - `module:<path>#<export>`: `(item: RewardItem) => number | Promise<number>`
 *   (a boolean counts as 0/1);
 * - `verifier:<module>#<export>`: `(item) => boolean | 0 | 1` (or a promise of
 *   one), a verifiable 0/1 reward.
 *
 * `<path>` is a file (relative to the context's cwd) or a package name; the
 * export defaults to `default`. The function is called once per item, items
 * concurrently. Loading failures and throws become RewardModuleError naming
 * the module, the export and the candidate.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RewardModuleError, RewardValueError, UnknownRewardError } from '../../errors.js';
import type { RewardKind } from '../spec.js';
import { defineReward, type Reward, type RewardItem } from '../types.js';

export type UserRewardFn = (item: RewardItem) => unknown;

export interface ModuleRef { module: string; exportName: string }

/** Splits `<module>#<export>` (export defaults to `default`). */
export function parseModuleRef(spec: string, body: string): ModuleRef {
  const hash = body.lastIndexOf('#');
  const module = hash >= 0 ? body.slice(0, hash) : body;
  const exportName = hash >= 0 ? body.slice(hash + 1) : 'default';
  if (module.length === 0) throw new UnknownRewardError(spec, `reward "${spec}" names no module (expected <module>#<export>)`);
  if (exportName.length === 0) throw new UnknownRewardError(spec, `reward "${spec}" has an empty export name after "#"`);
  return { module, exportName };
}

/** A module reference that names a file (relative, absolute, or by a script extension) rather than a package. */
export function looksLikePath(m: string): boolean {
  return m.startsWith('.') || isAbsolute(m) || /\.(c|m)?(j|t)s$/.test(m);
}

/** Imports `ref.module` and returns its export `ref.exportName`, which must be a function. */
export async function loadUserFunction(ref: ModuleRef, cwd: string = process.cwd()): Promise<UserRewardFn> {
  const label = `${ref.module}#${ref.exportName}`;
  let specifier = ref.module;
  if (looksLikePath(ref.module)) {
    const path = resolve(cwd, ref.module);
    if (!existsSync(path)) throw new RewardModuleError(ref.module, ref.exportName, `cannot load ${label}: file not found: ${path}`);
    specifier = pathToFileURL(path).href;
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    throw new RewardModuleError(ref.module, ref.exportName, `cannot load ${label}: ${(err as Error).message ?? String(err)}`, { cause: err });
  }
  const fn = mod[ref.exportName];
  if (fn === undefined) {
    const names = Object.keys(mod).join(', ') || '(none)';
    throw new RewardModuleError(ref.module, ref.exportName, `${ref.module} has no export "${ref.exportName}" (exports: ${names})`);
  }
  if (typeof fn !== 'function') throw new RewardModuleError(ref.module, ref.exportName, `${label} is a ${typeof fn}, not a function`);
  return fn as UserRewardFn;
}

async function callEach(spec: string, ref: ModuleRef, fn: UserRewardFn, items: readonly RewardItem[], toNumber: (v: unknown, i: number) => number): Promise<number[]> {
  return Promise.all(items.map(async (item, i) => {
    let v: unknown;
    try {
      v = await fn(item);
    } catch (err) {
      throw new RewardModuleError(ref.module, ref.exportName, `${spec}: ${ref.module}#${ref.exportName} threw on candidate ${i}: ${(err as Error)?.message ?? String(err)}`, { cause: err, index: i });
    }
    return toNumber(v, i);
  }));
}

export function moduleReward(spec: string, ref: ModuleRef, fn: UserRewardFn): Reward {
  return defineReward(spec, 'module', [], (items) => callEach(spec, ref, fn, items, (v, i) => {
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'number') return v; // non-finite values are reported by defineReward with the candidate
    throw new RewardValueError(spec, i, v, `${spec}: returned ${typeof v} for candidate ${i}; expected a number`);
  }));
}

export function verifierReward(spec: string, ref: ModuleRef, fn: UserRewardFn): Reward {
  return defineReward(spec, 'verifier', [], (items) => callEach(spec, ref, fn, items, (v, i) => {
    if (v === true || v === 1) return 1;
    if (v === false || v === 0) return 0;
    throw new RewardValueError(spec, i, v, `${spec}: verifier returned ${JSON.stringify(v) ?? String(v)} for candidate ${i}; expected true/false or 0/1`);
  }));
}

export const moduleKind: RewardKind = {
  order: 7, name: 'module', usage: 'module:<path>#<export>', description: 'a user function returning a number', arg: 'required', argHint: '<path>#<export>',
  create: async (arg, spec, ctx) => {
    const ref = parseModuleRef(spec, arg ?? '');
    return moduleReward(spec, ref, await loadUserFunction(ref, ctx.cwd ?? process.cwd()));
  },
};

export default moduleKind;
