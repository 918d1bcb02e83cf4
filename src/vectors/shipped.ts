/**
 * The vectors shipped for the default model (vectors/tinystories-656k/):
 * how each is made from its pairs file, how its effect is judged, and the
 * strengths its card reports. `onnx-steer demo` and bench/steering-effect.ts
 * read these recipes.
 */
import { join } from 'node:path';
import { packageRoot } from '../model/default-model.js';

export interface ShippedRecipe {
  name: string;
  description: string;
  /** Pairs file name inside the shipped folder. */
  pairs: string;
  method: string;
  read: string;
  sites: string[];
  /** Judge of the effect on generated text (independent of the vector). */
  judge: string;
  /** Strengths of the measured curve in the card. */
  strengths: number[];
  /** Strength the demo uses (negated for the other direction). */
  demoStrength: number;
}

export const SHIPPED_MODEL = 'tinystories-656k';

export const SHIPPED: Readonly<Record<string, ShippedRecipe>> = {
  joy: {
    name: 'joy',
    description: 'happy (+) versus sad (−) children\'s stories',
    pairs: 'joy.pairs.jsonl',
    method: 'mean-diff',
    read: 'mean',
    sites: ['blocks.0.hook_resid_post'],
    judge: 'vader',
    strengths: [-3, -2.5, -2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2, 2.5, 3],
    demoStrength: 1.5,
  },
  dialogue: {
    name: 'dialogue',
    description: 'stories told in quoted speech (+) versus plain narration (−)',
    pairs: 'dialogue.pairs.jsonl',
    method: 'mean-diff',
    read: 'last',
    sites: ['blocks.1.hook_resid_mid'],
    judge: 'dialogue',
    strengths: [-1, -0.75, -0.5, -0.25, 0.25, 0.5, 0.75, 1, 1.25, 1.5],
    demoStrength: 0.75,
  },
};

/** The folder holding the shipped vectors, pairs and prompts. */
export function shippedDir(): string {
  return join(packageRoot(), 'vectors', SHIPPED_MODEL);
}

/** Held-out prompts for measuring effects (none of them appears in any pairs file). */
export const HELDOUT_PROMPTS = 'heldout.prompts.json';
