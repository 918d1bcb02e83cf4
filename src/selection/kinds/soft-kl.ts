/** Soft Best-of-N: samples a draw with probability ∝ exp(R/β). */
import { softKl } from '../selectors.js';
import { needs, type SelectorSpec } from '../spec.js';

const spec: SelectorSpec = { order: 5, name: 'soft-kl', description: 'samples P(i) ∝ exp(R/β) (the KL-regularised optimum by resampling)', needs: needs('rewards', 'beta', 'rng'), select: softKl };

export default spec;
