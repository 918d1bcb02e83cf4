/** Best-of-N: the draw with the highest reward; KL(π_sel ‖ π_ref) ≤ log N − (N−1)/N. */
import { bon } from '../selectors.js';
import { needs, type SelectorSpec } from '../spec.js';
import { bonKlBound } from '../stats.js';

const spec: SelectorSpec = {
  order: 1, name: 'bon', description: 'argmax R (Best-of-N)', needs: needs('rewards'), select: bon,
  klBound: (n) => ({ value: bonKlBound(n), formula: 'log N − (N−1)/N' }),
};

export default spec;
