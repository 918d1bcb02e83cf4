/** Locations of the shared models and fixtures (../shared beside the repo). */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..', '..');
/** ../shared beside the repository (override with ONNX_STEER_SHARED). */
export const SHARED = resolve(process.env.ONNX_STEER_SHARED ?? resolve(REPO, '..', 'shared'));
export const FIXTURES = join(SHARED, 'fixtures', 'onnx');
export const REFERENCE = join(SHARED, 'fixtures', 'reference');
export const TINYSTORIES = join(SHARED, 'models', 'tinystories-656k');

export function hasShared(): boolean {
  return existsSync(TINYSTORIES);
}

export function tempDir(prefix = 'onnx-steer-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
