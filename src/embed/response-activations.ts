/**
 * Mean-pooled policy activations of responses: for each (prompt, response),
 * the residual at each hook site averaged over the response tokens, from one
 * batched capture of prompt ⊕ response. The `hidden` utility and the `probe`
 * reward both read these vectors, so a harness captures once and passes the
 * result to both (as `activations` on each item).
 *
 * An empty response has no tokens to average; it gets the activation at the
 * last prompt token (the state from which the empty response was chosen).
 */
import { InvalidArgumentError } from '../errors.js';
import type { PositionSelector } from '../generation/capture.js';
import type { HookedModel, ModelInput } from '../model/hooked-model.js';
import type { Intervention } from '../steering/plan.js';

/** site → mean activation over the response tokens ([hidden]). */
export type ResponseActivations = Readonly<Record<string, Float32Array>>;

export interface ResponseInput {
  prompt: ModelInput;
  /** The response text, encoded without special tokens unless `ids` are given. */
  response?: string;
  /** The response token ids (preferred: the exact generated ids). */
  ids?: readonly number[];
}

export interface ResponseActivationOptions {
  /** Rows per forward pass (default 16). */
  batchSize?: number;
  /** The steering the responses were generated under (shared by all items), so activations are the steered policy's. */
  steering?: readonly Intervention[];
}

export async function captureResponseActivations(
  model: HookedModel,
  items: readonly ResponseInput[],
  sites: readonly string[],
  options: ResponseActivationOptions = {},
): Promise<ResponseActivations[]> {
  if (items.length === 0) return [];
  const sequences: number[][] = [];
  const positions: PositionSelector[] = [];
  const promptLengths: number[] = [];
  items.forEach((item, i) => {
    const promptIds = model.encode(item.prompt);
    if (promptIds.length === 0) throw new InvalidArgumentError(`item ${i}: the prompt is empty (no tokens)`);
    if (item.ids === undefined && item.response === undefined) throw new InvalidArgumentError(`item ${i}: give the response text or its token ids`);
    const responseIds = item.ids ? [...item.ids] : model.encodeContinuation(item.response ?? '');
    sequences.push([...promptIds, ...responseIds]);
    promptLengths.push(promptIds.length);
    positions.push(responseIds.length > 0 ? { mean: { start: promptIds.length } } : { index: -1 });
  });
  const captured = await model.capture(sequences, sites, {
    positions, promptLengths, batchSize: options.batchSize ?? 16,
    ...(options.steering && options.steering.length > 0 ? { steering: options.steering } : {}),
  });
  return captured.map((entry) => {
    const out: Record<string, Float32Array> = {};
    for (const site of sites) out[site] = (entry[site] as { data: Float32Array }).data;
    return out;
  });
}
