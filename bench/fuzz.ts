/**
 * `npm run fuzz`: 10,000 byte mutations per parser of untrusted input (see
 * test/fuzz/targets.ts), printing per parser the inputs tried, how many were
 * refused with a typed error, and every contract break (untyped error or an
 * input taking over a second). Exits 1 when anything broke. `--runs N` and
 * `--seed S` override the defaults; `--only <text>` runs the parsers whose name contains it.
 */
import { defaultModelDir } from '../src/model/default-model.js';
import { REPO, tempDir, TINYSTORIES } from '../test/helpers/paths.js';
import { fuzzTarget, fuzzTargets } from '../test/fuzz/targets.js';

const arg = (flag: string, fallback: number) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg('--runs', 10_000);
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
const seed = arg('--seed', 1);
const work = tempDir('onnx-steer-fuzz-');
let broken = 0;
try {
  const targets = fuzzTargets(work.path, REPO, await defaultModelDir(), TINYSTORIES);
  console.log(`npm run fuzz -- --runs ${runs} --seed ${seed}${only ? ` --only '${only}'` : ''}`);
  console.log('| parser | inputs | typed errors | parsed | findings | seconds |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const t of targets.filter((x) => only === undefined || x.name.includes(only))) {
    const t0 = performance.now();
    const r = fuzzTarget(t, runs, seed);
    broken += r.findings.length;
    console.log(`| ${t.name} | ${r.runs} | ${r.typedErrors} | ${r.runs - r.typedErrors - r.findings.length} | ${r.findings.length} | ${((performance.now() - t0) / 1000).toFixed(1)} |`);
    for (const f of r.findings) console.log(`  ${f.kind}: ${f.detail} (input of ${f.input.length} bytes)`);
  }
} finally {
  work.cleanup();
}
process.exitCode = broken > 0 ? 1 : 0;
