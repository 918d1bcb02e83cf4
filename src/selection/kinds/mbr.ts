/** MBR decoding: the draw with the highest mean utility against the others. */
import { mbr } from '../selectors.js';
import { needs, type SelectorSpec } from '../spec.js';

const spec: SelectorSpec = { order: 2, name: 'mbr', description: 'argmax ū, the mean utility (MBR decoding)', needs: needs('utility'), select: mbr };

export default spec;
