/** Typed errors of the A/B harness (SteeringErrors with stable codes). */
import { SteeringError } from '../errors.js';

/** A prompts file with no prompt in it. */
export class EmptyPromptsError extends SteeringError {
  readonly path: string;
  constructor(path: string) {
    super('INVALID_DATA', `${path}: no prompts (the file is empty); expected one {"prompt": "..."} object per line`);
    this.path = path;
  }
}
