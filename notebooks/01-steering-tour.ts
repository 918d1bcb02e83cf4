/**
 * A tour of onnx-steer on the default model.
 *
 *   npx tsx notebooks/01-steering-tour.ts
 *
 * 1. open the hooked model and list its hook sites;
 * 2. capture the residual stream for two sentences and compare them;
 * 3. extract the `joy` direction from its labelled pairs (mean-diff);
 * 4. steer generation toward and away from joy, and judge it with VADER;
 * 5. decode three differently steered candidates as one batch.
 */
import { join } from 'node:path';
import {
  HookedModel, Steering, SteeringVector, defaultModelDir, extractVector, loadPairs, vaderJudge,
} from '../src/index.js';
import { shippedDir } from '../src/vectors/shipped.js';

const say = (s = '') => process.stdout.write(`${s}\n`);

// 1. The model and its hook sites.
const model = await HookedModel.load(await defaultModelDir());
say(`${model.manifest.architecture}: ${model.manifest.numBlocks} blocks, hidden ${model.manifest.hiddenSize}`);
say(`hook sites: ${model.sites.join(', ')}`);

// 2. Capture: the last-token residual after block 1, for a happy and a sad sentence.
const site = 'blocks.1.hook_resid_post';
const [happy, sad] = await model.capture(['Lily smiled and laughed with her friends. ', 'Lily cried because her dog was lost. '], [site], { positions: 'last' });
const a = happy![site]!.data;
const b = sad![site]!.data;
let dot = 0, na = 0, nb = 0;
for (let i = 0; i < a.length; i++) { dot += a[i]! * b[i]!; na += a[i]! ** 2; nb += b[i]! ** 2; }
say(`\ncosine(happy, sad) at ${site}: ${(dot / Math.sqrt(na * nb)).toFixed(3)}`);

// 3. Extraction from the shipped pairs (the same recipe `onnx-steer extract` uses).
const pairs = loadPairs(join(shippedDir(), 'joy.pairs.jsonl'));
const { vector } = await extractVector(model, pairs, { method: 'mean-diff', sites: ['blocks.0.hook_resid_post'] });
const shipped = SteeringVector.load(join(shippedDir(), 'joy.json'), { model });
say(`\nextracted joy from ${pairs.pairs.length} pairs; sites ${vector.sites.join(', ')}; norm ${vector.norm('blocks.0.hook_resid_post').toFixed(2)}`);
say(`shipped joy.json recommends strengths ${JSON.stringify(shipped.meta.recommendedStrength)}`);

// 4. Steering in both directions, judged by VADER (independent of the vector).
const prompt = 'One day, a little boy went to the park. ';
const judge = vaderJudge();
for (const strength of [0, 1.5, -1.5]) {
  const plan = Steering.of(vector, { strength }).plan();
  const out = await model.generate(prompt, { temperature: 0.8, seed: 7, n: 4, maxNewTokens: 40, steering: plan });
  const scores = out.rows.map((r) => judge.score(r.text));
  const mean = scores.reduce((s, x) => s + x, 0) / scores.length;
  say(`\nstrength ${strength >= 0 ? '+' : ''}${strength}: mean VADER ${mean.toFixed(3)}`);
  say(`  ${prompt}${out.rows[0]!.text.trim()}`);
}

// 5. One batch, three plans: joy, unsteered, sadness.
const rows = Steering.rows([Steering.of(vector, { strength: 1.5 }), null, Steering.of(vector, { strength: -1.5 })]);
const batch = await model.generate(prompt, { temperature: 0.8, seed: 3, n: 3, maxNewTokens: 30, steering: rows });
batch.rows.forEach((r, i) => say(`\nrow ${i} (${['joy', 'unsteered', 'sad'][i]}): ${r.text.trim()}`));

await model.dispose();
