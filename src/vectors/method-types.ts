/** What a direction method is, as the method registry (methods.ts) sees it. */
import type { ContrastSamples } from './samples.js';

export type DirectionMethod = (samples: ContrastSamples) => Float32Array;

export interface MethodSpec {
  name: string;
  description: string;
  /** Whether the method returns unit vectors (strengths are then in residual units). */
  unitNorm: boolean;
  create: () => DirectionMethod;
  /** Where help and messages list it among the built-ins, lower first; without one it follows them, by file name. */
  order?: number;
}
