/**
 * The shipped vectors: their pairs, held-out prompts, files, cards' numbers,
 * and a cheap version of the measured effect (the full measurement is
 * bench/steering-effect.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { evaluateSteering, loadPrompts, type EvaluationReport } from '../../src/vectors/evaluate.js';
import { extractVector } from '../../src/vectors/extract.js';
import { judgeByName } from '../../src/vectors/judges.js';
import { loadPairs } from '../../src/pairs/pairs.js';
import { parseReadPosition } from '../../src/vectors/positions.js';
import { HELDOUT_PROMPTS, SHIPPED } from '../../src/vectors/shipped.js';
import { SteeringVector } from '../../src/vectors/vector.js';
import { loadDefault } from '../helpers/models.js';
import { REPO } from '../helpers/paths.js';

const DIR = join(REPO, 'vectors', 'tinystories-656k');
const recipes = Object.values(SHIPPED);
let model: HookedModel;
beforeAll(async () => { model = await loadDefault(); }, 300_000);
afterAll(async () => { await model?.dispose(); });

describe('shipped pairs and prompts', () => {
  it('each concept has at least 64 valid pairs', () => {
    expect(recipes.map((r) => r.name).sort()).toEqual(['dialogue', 'joy']);
    for (const r of recipes) expect(loadPairs(join(DIR, r.pairs)).pairs.length).toBeGreaterThanOrEqual(64);
  });

  it('has at least 30 held-out prompts, none of them in any pairs file', () => {
    const prompts = loadPrompts(join(DIR, HELDOUT_PROMPTS));
    expect(prompts.length).toBeGreaterThanOrEqual(30);
    expect(new Set(prompts).size).toBe(prompts.length);
    const texts = recipes.flatMap((r) => loadPairs(join(DIR, r.pairs)).pairs.flatMap((p) => [p.prompt ?? '', p.chosen, p.rejected]));
    for (const prompt of prompts) {
      const sentence = prompt.trim();
      for (const t of texts) expect(t.includes(sentence) || (t.length > 0 && sentence.includes(t))).toBe(false);
    }
  });
});

describe('shipped vectors', () => {
  for (const r of recipes) {
    it(`${r.name}.json is what onnx-steer extract makes from ${r.pairs}, for this model`, async () => {
      const shipped = SteeringVector.load(join(DIR, `${r.name}.json`), { model });
      const dataset = loadPairs(join(DIR, r.pairs));
      expect(shipped.meta.dataset?.sha256).toBe(dataset.sha256);
      expect(shipped.meta.dataset?.size).toBe(dataset.bytes);
      expect(shipped.meta.method).toBe(r.method);
      expect(shipped.meta.read).toBe(r.read);
      expect(shipped.sites).toEqual(r.sites);
      expect(shipped.meta.recommendedStrength).toBeDefined();
      const { vector } = await extractVector(model, dataset, { method: r.method, read: parseReadPosition(r.read), sites: r.sites, recommend: false });
      for (const site of r.sites) expect(Array.from(vector.direction(site))).toEqual(Array.from(shipped.direction(site)));
    });
  }

  it('the measured strength curves meet the acceptance figures', () => {
    const joy = JSON.parse(readFileSync(join(DIR, 'joy.effect.json'), 'utf8')) as EvaluationReport;
    expect(joy.prompts).toBeGreaterThanOrEqual(30);
    expect(joy.samples).toBe(4);
    expect(joy.temperature).toBe(0.8);
    const base = joy.points.find((p) => p.strength === 0)!.judges.vader!.mean;
    const sad = joy.points.filter((p) => p.strength < 0 && p.perplexityRatio <= 1.5 && p.judges.vader!.mean <= base - 0.4);
    expect(sad.length).toBeGreaterThan(0);
    for (const p of joy.points.filter((q) => q.strength > 0)) expect(p.judges.vader!.mean).toBeGreaterThanOrEqual(base);
    const dialogue = JSON.parse(readFileSync(join(DIR, 'dialogue.effect.json'), 'utf8')) as EvaluationReport;
    const dBase = dialogue.points.find((p) => p.strength === 0)!.judges.dialogue!.mean;
    const more = dialogue.points.filter((p) => p.strength > 0 && p.perplexityRatio <= 1.5 && p.judges.dialogue!.mean >= 2 * dBase);
    expect(more.length).toBeGreaterThan(0);
  });
});

describe('measured effect, cheap version (10 prompts × 2 samples)', () => {
  it('joy: −2 lowers the VADER compound, +2 does not, text stays within 2× perplexity', async () => {
    const joy = SteeringVector.load(join(DIR, 'joy.json'), { model });
    const report = await evaluateSteering(model, joy, {
      prompts: loadPrompts(join(DIR, HELDOUT_PROMPTS)).slice(0, 10), samples: 2, maxNewTokens: 32, strengths: [-2, 2], judges: [judgeByName('vader')],
    });
    const [sad, base, happy] = report.points;
    expect(sad!.judges.vader!.mean).toBeLessThan(base!.judges.vader!.mean - 0.25);
    expect(happy!.judges.vader!.mean).toBeGreaterThanOrEqual(base!.judges.vader!.mean);
    expect(sad!.perplexityRatio).toBeLessThan(2);
  });

  it('dialogue: +0.75 adds quoted speech, −0.75 removes it', async () => {
    const dialogue = SteeringVector.load(join(DIR, 'dialogue.json'), { model });
    const report = await evaluateSteering(model, dialogue, {
      prompts: loadPrompts(join(DIR, HELDOUT_PROMPTS)).slice(0, 10), samples: 2, maxNewTokens: 32, strengths: [-0.75, 0.75], judges: [judgeByName('dialogue')],
    });
    const [less, base, more] = report.points.map((p) => p.judges.dialogue!.mean);
    expect(more!).toBeGreaterThan(base! + 0.3);
    expect(less!).toBeLessThanOrEqual(base!);
  });
});
