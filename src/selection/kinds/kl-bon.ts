/** KL-BoN: reward plus β times the reference log-probability. */
import { klBon } from '../selectors.js';
import { needs, type SelectorSpec } from '../spec.js';

const spec: SelectorSpec = { order: 4, name: 'kl-bon', description: 'argmax R + β·log π_ref (KL-BoN)', needs: needs('rewards', 'logprobs', 'beta'), select: klBon };

export default spec;
