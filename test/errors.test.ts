import { describe, expect, it } from 'vitest';
import * as errors from '../src/errors.js';
import {
  EmptyPromptsError, InvalidArgumentError, InvalidSpecError, RewardModuleError, RewardValueError, SteeringError,
  UnknownRewardError, UnknownSelectorError, UnknownUtilityError, UsageError,
} from '../src/errors.js';
import { parseReadPosition } from '../src/vectors/positions.js';
import { getSelector } from '../src/selection/registry.js';
import { parseReward } from '../src/rewards/parse.js';
import { parseUtility } from '../src/utilities/parse.js';

describe('the error module', () => {
  it('exports only SteeringError subclasses (besides the base), each with a code and an exit code', () => {
    const classes = Object.values(errors).filter((v): v is typeof SteeringError => typeof v === 'function');
    expect(classes.length).toBeGreaterThan(15);
    for (const cls of classes) expect(cls === SteeringError || cls.prototype instanceof SteeringError, cls.name).toBe(true);
  });

  it('keeps the exit codes: 2 for usage and unknown specs, 1 for bad values and runtime failures', () => {
    expect(new UsageError('x').exitCode).toBe(2);
    expect(new InvalidSpecError('s', 'x').exitCode).toBe(2);
    expect(new UnknownRewardError('s', 'x').exitCode).toBe(2);
    expect(new UnknownUtilityError('s', 'x').exitCode).toBe(2);
    expect(new UnknownSelectorError('s', ['bon']).exitCode).toBe(2);
    expect(new InvalidArgumentError('x').exitCode).toBe(1);
    expect(new EmptyPromptsError('p').exitCode).toBe(1);
    expect(new RewardValueError('r', 0, Number.NaN, 'x').exitCode).toBe(1);
    expect(new RewardModuleError('m', 'e', 'x').exitCode).toBe(1);
  });

  it('carries the cause', () => {
    const cause = new Error('inner');
    const err = new InvalidArgumentError('outer', { cause });
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('InvalidArgumentError');
    expect(err.code).toBe('INVALID_ARGUMENT');
  });

  it('library spec parsers throw typed spec errors, never the CLI UsageError', async () => {
    const thrown: unknown[] = [];
    for (const f of [() => parseReadPosition('middle'), () => getSelector('best'), () => parseUtility('bleu')]) {
      try { f(); } catch (err) { thrown.push(err); }
    }
    await parseReward('no-such-reward').catch((err: unknown) => thrown.push(err));
    expect(thrown).toHaveLength(4);
    for (const err of thrown) {
      expect(err).toBeInstanceOf(InvalidSpecError);
      expect(err).not.toBeInstanceOf(UsageError);
    }
  });
});
