/** Length-regularised Best-of-N: reward minus β times the length. */
import { lengthBon } from '../selectors.js';
import { needs, type SelectorSpec } from '../spec.js';

const spec: SelectorSpec = { order: 6, name: 'length-bon', description: 'argmax R − β·|y| (length-regularised BoN)', needs: needs('rewards', 'lengths', 'beta'), select: lengthBon };

export default spec;
