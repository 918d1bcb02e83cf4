/** Typed errors of the reward layer (all SteeringErrors with a stable code). */
import { SteeringError, type SteeringErrorOptions } from '../errors.js';

/** A reward spec that names no known reward, or is malformed. */
export class UnknownRewardError extends SteeringError {
  readonly spec: string;
  constructor(spec: string, detail: string) {
    super('USAGE', `${detail}; rewards: vader, afinn, keyword:<word>, probe:<vector.json>, verifier:<module>#<export>, module:<path>#<export>`);
    this.spec = spec;
  }
}

/** A reward produced a value that cannot be used (NaN, ±Infinity, wrong count, non-0/1 verdict). */
export class RewardValueError extends SteeringError {
  readonly reward: string;
  /** The candidate's index in the batch (−1 when the whole batch is wrong). */
  readonly index: number;
  readonly value: unknown;
  constructor(reward: string, index: number, value: unknown, message: string) {
    super('INVALID_DATA', message);
    this.reward = reward;
    this.index = index;
    this.value = value;
  }
}

/** A user module (verifier or reward function) failed to load or threw. */
export class RewardModuleError extends SteeringError {
  readonly module: string;
  readonly exportName: string;
  /** The candidate being scored when it threw, if any. */
  readonly index?: number;
  constructor(module: string, exportName: string, message: string, options: SteeringErrorOptions & { index?: number } = {}) {
    super('RUNTIME', message, options);
    this.module = module;
    this.exportName = exportName;
    if (options.index !== undefined) this.index = options.index;
  }
}
