/** Canonical hook-site names, TransformerLens style. */
import { InvalidArgumentError } from '../errors.js';

export type SiteKind = 'hook_resid_pre' | 'hook_resid_mid' | 'hook_resid_post';
export const SITE_KINDS: readonly SiteKind[] = ['hook_resid_pre', 'hook_resid_mid', 'hook_resid_post'];

export function siteName(block: number, kind: SiteKind): string {
  return `blocks.${block}.${kind}`;
}

const SITE_RE = /^blocks\.(\d+)\.(hook_resid_pre|hook_resid_mid|hook_resid_post)$/;

export function parseSiteName(name: string): { block: number; kind: SiteKind } | undefined {
  const m = SITE_RE.exec(name);
  if (!m) return undefined;
  return { block: Number(m[1]), kind: m[2] as SiteKind };
}

/** Input/output tensor names that carry a site's capture, steering and ablation. */
export function siteTensorNames(site: string): { capture: string; steer: string; ablate: string } {
  return { capture: site, steer: `${site}.steer`, ablate: `${site}.ablate` };
}

/**
 * Which sites to instrument. `all` (the default), a list of site names, or a
 * list of kinds (`hook_resid_post`) applied to every block.
 */
export type SiteSelection = 'all' | readonly string[];

export function selectSites(numBlocks: number, hasMid: boolean, selection: SiteSelection = 'all'): string[] {
  const all: string[] = [];
  for (let b = 0; b < numBlocks; b++) {
    all.push(siteName(b, 'hook_resid_pre'));
    if (hasMid) all.push(siteName(b, 'hook_resid_mid'));
    all.push(siteName(b, 'hook_resid_post'));
  }
  if (selection === 'all') return all;
  const chosen = new Set<string>();
  for (const item of selection) {
    if ((SITE_KINDS as readonly string[]).includes(item)) {
      const matching = all.filter((s) => s.endsWith(`.${item}`));
      if (matching.length === 0) throw new InvalidArgumentError(`this model has no ${item} sites (parallel-residual blocks have only hook_resid_pre and hook_resid_post)`);
      for (const s of matching) chosen.add(s);
    } else if (all.includes(item)) {
      chosen.add(item);
    } else {
      throw new InvalidArgumentError(`unknown hook site "${item}"; expected one of ${SITE_KINDS.join(', ')} or names like blocks.0.hook_resid_post (0..${numBlocks - 1})`);
    }
  }
  return all.filter((s) => chosen.has(s));
}
