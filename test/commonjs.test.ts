/**
 * The CommonJS build (`dist/index.cjs`, the package's `require` entry, which
 * tslab notebooks load) works under `require`. It once broke while the ESM
 * build and every source test passed: p-limit is ESM-only, its default export
 * did not survive Node 20's require(esm), and runAB failed with "pLimit is
 * not a function"; only CI's notebook run caught it (fixed by bundling p-limit
 * into the CommonJS entry, tsup.config.ts).
 *
 * What is tested, and why not `dist/` itself: the test builds the CommonJS
 * entry afresh from the current sources with the CommonJS config of
 * tsup.config.ts (tsup's API, sourcemaps and declarations off), into a temp
 * folder inside the repository (so that `require` resolves the external
 * dependencies from the repository's node_modules, as from dist/), and
 * requires it in a child Node process. In a dev checkout dist/ is often stale
 * or missing (worktrees have none), and a test of a stale dist/ would pass or
 * fail for the wrong reason; in CI, `npm ci` runs `prepare` (tsup) with the
 * same config on the same sources, so the bundle tested here is the one CI
 * builds. The build is fast enough to run every time: 0.4 to 0.7 s on the
 * 2-core dev machine (buildMs, shown in the failure message), once per run.
 *
 * The child runs what broke: a small runAB on the default model (pLimit in
 * the harness and in the local backend) and compares its arms with the same
 * run through the ESM sources in this process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Options } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tsupConfig from '../tsup.config.js';
import { runAB } from '../src/ab/harness.js';
import { parseReward } from '../src/rewards/parse.js';
import { parseUtility } from '../src/utilities/parse.js';
import { defaultDir, loadDefault } from './helpers/models.js';
import { REPO } from './helpers/paths.js';

const SCRATCH = join(REPO, '.scratch');
let outDir = '';
let buildMs = 0;

/** The CommonJS entry of tsup.config.ts (an array of configs: ESM, then CommonJS). */
function commonJsConfig(): Options {
  const configs = Array.isArray(tsupConfig) ? tsupConfig : [];
  const cjs = configs.find((c) => c.format === 'cjs' || (Array.isArray(c.format) && c.format.includes('cjs')));
  if (!cjs) throw new Error('tsup.config.ts has no CommonJS entry');
  return cjs;
}

const AB = { prompts: ['Once upon a time', 'One day, Tom'], ns: [2], beta: 0, selectors: ['bon', 'mbr-bon'], sampling: { maxNewTokens: 3, seed: 1 }, klResamples: 5, bootstrapResamples: 10 };

/** Run in the child: require the bundle, run AB, print the arms' ids and gold and proxy means as JSON. */
const CHILD = `
const lib = require(process.argv[2]);
const options = JSON.parse(process.argv[3]);
(async () => {
  if (typeof lib.runAB !== 'function' || typeof lib.HookedModel !== 'function') throw new Error('exports missing: ' + Object.keys(lib).slice(0, 20).join(', '));
  const model = await lib.HookedModel.load(process.argv[4], { intraOpNumThreads: 1 });
  try {
    const ctx = { model };
    const result = await lib.runAB(model, { ...options, proxy: await lib.parseReward('afinn', ctx), gold: await lib.parseReward('vader', ctx), utility: lib.parseUtility('rouge-l', ctx) });
    process.stdout.write(JSON.stringify(result.arms.map((a) => [a.arm.id, a.gold && a.gold.mean, a.proxy && a.proxy.mean])));
  } finally {
    await model.dispose();
  }
})().catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });
`;

beforeAll(async () => {
  mkdirSync(SCRATCH, { recursive: true });
  outDir = mkdtempSync(join(SCRATCH, 'cjs-build-'));
  const started = Date.now();
  await build({ ...commonJsConfig(), outDir, config: false, silent: true, sourcemap: false, dts: false, clean: false });
  buildMs = Date.now() - started;
}, 300_000);
afterAll(() => { if (outDir) rmSync(outDir, { recursive: true, force: true }); });

describe('the CommonJS build', () => {
  it('bundles p-limit rather than requiring it (its default export does not survive require(esm))', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(join(outDir, 'index.cjs'), 'utf8');
    expect(text).not.toMatch(/require\(["']p-limit["']\)/);
  });

  it('runs runAB under require, with the arms of the ESM sources', async () => {
    const dir = await defaultDir();
    const script = join(outDir, 'child.cjs');
    writeFileSync(script, CHILD);
    const child = await promisify(execFile)(process.execPath, [script, join(outDir, 'index.cjs'), JSON.stringify(AB), dir], { cwd: REPO, encoding: 'utf8', timeout: 120_000 })
      .catch((err: Error & { stderr?: string }) => { throw new Error(`the child failed (build ${buildMs} ms): ${err.stderr ?? err.message}`); });
    const viaRequire = JSON.parse(child.stdout) as [string, number | null, number | null][];
    const model = await loadDefault();
    try {
      const ctx = { model };
      const esm = await runAB(model, { ...AB, proxy: await parseReward('afinn', ctx), gold: await parseReward('vader', ctx), utility: parseUtility('rouge-l', ctx) });
      expect(viaRequire).toEqual(esm.arms.map((a) => [a.arm.id, a.gold?.mean ?? null, a.proxy?.mean ?? null]));
    } finally {
      await model.dispose();
    }
    expect(viaRequire.map(([id]) => id)).toEqual(['baseline', 'bon(2)', 'mbr-bon(2, β=0)']);
  });
});
