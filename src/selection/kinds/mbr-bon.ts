/** MBR-BoN (Jinnai et al. 2024): reward plus β times the mean utility. */
import { mbrBon } from '../selectors.js';
import { needs, type SelectorSpec } from '../spec.js';

const spec: SelectorSpec = { order: 3, name: 'mbr-bon', description: 'argmax R + β·ū (MBR-BoN, Jinnai et al. 2024)', needs: needs('rewards', 'utility', 'beta'), select: mbrBon };

export default spec;
