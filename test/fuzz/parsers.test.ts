/** Every parser of untrusted input, 1,000 byte mutations each: typed errors only, never a hang (see targets.ts; `npm run fuzz` runs 10,000). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDir } from '../helpers/models.js';
import { REPO, tempDir, TINYSTORIES } from '../helpers/paths.js';
import { fuzzTarget, fuzzTargets, type FuzzTarget } from './targets.js';

const work = tempDir('onnx-steer-fuzz-');
let targets: FuzzTarget[] = [];
beforeAll(async () => { targets = fuzzTargets(work.path, REPO, await defaultDir(), TINYSTORIES); }, 300_000);
afterAll(() => work.cleanup());

const NAMES = ['vector JSON', 'pairs JSONL', 'ONNX protobuf', 'hooks.json', 'safetensors header', 'GGUF', 'config JSON', 'tokenizer JSON', 'chat request body', 'completion request body'];

describe('fuzzing the parsers (1,000 mutations each)', () => {
  for (const name of NAMES) {
    it(name, () => {
      const t = targets.find((x) => x.name === name);
      expect(t).toBeDefined();
      const r = fuzzTarget(t as FuzzTarget, 1000);
      expect(r.findings.map((f) => `${f.kind}: ${f.detail}`)).toEqual([]);
      expect(r.typedErrors).toBeGreaterThan(0);
    }, 120_000);
  }
});
