/**
 * Held-out preference pairs for the preference-criteria measurements, made
 * the way ../shared/data/tinystories-prefs was (see ../shared/README.md):
 * story openings from the same templates over names, things and places,
 * 8 samples each from the default model (temperature 1, 56 new tokens),
 * scored with VADER compound; chosen = the highest, rejected = the lowest,
 * kept when they differ by ≥ 0.8. Openings that occur in the training pairs
 * are left out, so the DPO policy never saw these prompts.
 *
 *   npx tsx bench/prefs/heldout.ts [--openings 64] [-o bench/prefs/heldout.pairs.jsonl]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HookedModel } from '../../src/model/hooked-model.js';
import { defaultModelDir } from '../../src/model/default-model.js';
import { atomicWriteFile } from '../../src/files/fs.js';
import { vaderJudge } from '../../src/vectors/judges.js';
import { arg, SHARED } from './common.js';

const NAMES = ['Anna', 'Ben', 'Bob', 'Emma', 'Jack', 'Kim', 'Leo', 'Lily', 'Lucy', 'Max', 'Mia', 'Sam', 'Sue', 'Tim', 'Tom', 'Zoe'];
const PLACES = ['beach', 'farm', 'forest', 'garden', 'lake', 'park', 'school', 'town'];
const THINGS = ['a big tree', 'a blue car', 'a little cat', 'a new kite', 'a puppy', 'a red ball', 'a shiny stone', 'a small bird', 'a toy boat', 'an old hat'];

function openings(): string[] {
  const out: string[] = [];
  for (const n of NAMES) {
    for (const p of PLACES) out.push(`${n} and mom walked to the ${p}.`);
    for (const t of THINGS) out.push(`Once upon a time, ${n} had ${t}.`);
    for (const p of PLACES) for (const t of THINGS) {
      out.push(`${n} went to the ${p} with ${t}.`, `At the ${p}, ${n} saw ${t}.`, `One day, ${n} found ${t} in the ${p}.`);
    }
  }
  return out;
}

/** A fixed pseudo-random order (splitmix-style hash of the index), so the pick is reproducible. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const key = (i: number) => {
    let h = (i * 0x9e3779b9 + seed) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    return (h ^ (h >>> 16)) >>> 0;
  };
  return xs.map((x, i) => ({ x, k: key(i) })).sort((a, b) => a.k - b.k).map((e) => e.x);
}

const count = Number(arg('--openings', '64'));
const output = arg('-o', 'bench/prefs/heldout.pairs.jsonl');
const train = new Set(readFileSync(join(SHARED, 'data', 'tinystories-prefs', 'pairs.train.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { prompt: string }).prompt));
const chosenOpenings = shuffled(openings().filter((o) => !train.has(o)), 17).slice(0, count);
const model = await HookedModel.load(await defaultModelDir(), { intraOpNumThreads: 1 });
const vader = vaderJudge();
const lines: string[] = [];
try {
  for (const [k, prompt] of chosenOpenings.entries()) {
    const out = await model.generate(prompt, { n: 8, temperature: 1, topP: 1, maxNewTokens: 56, seed: 1000 + k });
    const scored = out.rows.map((r) => ({ text: r.text, v: vader.score(r.text) })).filter((s) => s.text.trim().length > 0);
    if (scored.length < 2) continue;
    const best = scored.reduce((a, b) => (b.v > a.v ? b : a));
    const worst = scored.reduce((a, b) => (b.v < a.v ? b : a));
    if (best.v - worst.v < 0.8 || best.text === worst.text) continue;
    lines.push(JSON.stringify({ prompt, chosen: best.text, rejected: worst.text, chosen_vader: best.v, rejected_vader: worst.v }));
  }
} finally {
  await model.dispose();
}
atomicWriteFile(output, `${lines.join('\n')}\n`);
console.log(`${lines.length} pairs from ${chosenOpenings.length} held-out openings → ${output}`);
