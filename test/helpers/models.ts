/** Builds (once per cache) the hooked default model used by integration tests. */
import { defaultModelDir } from '../../src/model/default-model.js';
import { HookedModel } from '../../src/model/hooked-model.js';

let dirPromise: Promise<string> | undefined;

export function defaultDir(): Promise<string> {
  dirPromise ??= defaultModelDir();
  return dirPromise;
}

export async function loadDefault(): Promise<HookedModel> {
  return HookedModel.load(await defaultDir(), { intraOpNumThreads: 1 });
}
