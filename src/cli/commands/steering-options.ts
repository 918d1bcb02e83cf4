/**
 * Steering flags shared by commands that run a model:
 *   --vector <path[=strength]> (repeatable), --strength <s>, --sites <list>,
 *   --positions all|prompt|generated|<start>:<end>, --operator add|ablate|ablate-add
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { PositionSpec, SteeringOperator } from '../../steering/plan.js';
import { Steering } from '../../vectors/steering.js';
import { SteeringVector, type ModelLike } from '../../vectors/vector.js';
import { listOption, parseNumberOption, QUANTITIES, quantityOption } from '../../validate/index.js';


export interface SteeringCliOptions {
  vector?: string[];
  strength?: number;
  sites?: string[];
  positions?: string;
  operator?: string;
  normPreserving?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function addSteeringOptions(cmd: Command): Command {
  return cmd
    .option('--vector <path[=strength]>', 'steering vector file, optionally with its own strength (repeatable)', collect)
    .option('--strength <s>', 'strength for vectors given without one', quantityOption('strength'))
    .option('--sites <list>', 'steer only at these sites of the vectors (comma-separated)', listOption('--sites', { unique: true }))
    .option('--positions <spec>', 'all (default), prompt, generated, or an absolute window <start>:<end>')
    .option('--operator <op>', 'add (default), ablate, or ablate-add')
    .option('--norm-preserving', 'keep the residual norm where steering applies (model built with --norm-preserving)');
}

export function parsePositions(text: string): PositionSpec {
  if (text === 'all' || text === 'prompt' || text === 'generated') return text;
  const m = /^(\d+):(\d*)$/.exec(text);
  if (!m) throw new UsageError(`--positions must be all, prompt, generated or <start>:<end>, got "${text}"`);
  const start = Number(m[1]);
  if (m[2] === '') return { start };
  const end = Number(m[2]);
  if (end <= start) throw new UsageError(`--positions window ${text} is empty`);
  return { start, end };
}

export function parseOperator(text: string): SteeringOperator {
  if (text === 'add' || text === 'ablate' || text === 'ablate-add') return text;
  throw new UsageError(`--operator must be add, ablate or ablate-add, got "${text}"`);
}

/**
 * Splits `path=strength`: the strength is what follows the last `=` when it is
 * a number, or when the text before it names a file and the whole does not
 * (`v.json=Infinity`, `v.json=strong`: a bad strength, not a missing file).
 */
export function parseVectorArg(arg: string): { path: string; strength?: number } {
  const at = arg.lastIndexOf('=');
  if (at > 0) {
    const head = arg.slice(0, at);
    const tail = arg.slice(at + 1);
    const numeric = tail.trim() !== '' && Number.isFinite(Number(tail));
    if (numeric || (!existsSync(arg) && existsSync(head))) return { path: head, strength: parseNumberOption(`--vector ${head}=<s>`, tail, QUANTITIES.strength.rule) };
  }
  return { path: arg };
}

/** The Steering the flags describe (none when no --vector is given), checked against the model when there is one. */
export function steeringFromOptions(opts: SteeringCliOptions, model: ModelLike | undefined): Steering {
  const vectors = opts.vector ?? [];
  if (vectors.length === 0) {
    if (opts.strength !== undefined || opts.sites || opts.positions || opts.operator || opts.normPreserving) throw new UsageError('--strength, --sites, --positions, --operator and --norm-preserving need --vector');
    return Steering.none();
  }
  const operator = opts.operator ? parseOperator(opts.operator) : undefined;
  const positions = opts.positions ? parsePositions(opts.positions) : undefined;
  let steering = Steering.none();
  for (const arg of vectors) {
    const { path, strength } = parseVectorArg(arg);
    const s = strength ?? opts.strength ?? (operator === 'ablate' ? 0 : undefined);
    if (s === undefined) throw new UsageError(`give a strength for ${path}: --strength <s> or --vector ${path}=<s>`);
    const vector = SteeringVector.load(path, model ? { model } : {});
    const sites = opts.sites?.filter((site) => vector.hasSite(site));
    if (opts.sites && sites?.length === 0) throw new UsageError(`vector ${path} has none of the sites ${opts.sites.join(', ')} (it has ${vector.sites.join(', ')})`);
    steering = steering.with(vector, {
      strength: s,
      ...(sites ? { sites } : {}),
      ...(operator ? { operator } : {}),
      ...(positions !== undefined ? { positions } : {}),
      ...(opts.normPreserving ? { normPreserving: true } : {}),
    });
  }
  if (model) steering.check(model);
  return steering;
}
