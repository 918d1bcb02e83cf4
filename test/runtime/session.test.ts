import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelRunner } from '../../src/runtime/runner.js';
import { defaultDir } from '../helpers/models.js';
import { tempDir } from '../helpers/paths.js';

const tmp = tempDir('onnx-steer-profile-');
afterAll(() => tmp.cleanup());

describe('session options: profileFilePrefix', () => {
  it('turns on onnxruntime\'s profiler: endProfiling writes a trace with one kernel event per node run', async () => {
    const runner = await ModelRunner.open(await defaultDir(), { intraOpNumThreads: 1, profileFilePrefix: join(tmp.path, 'trace') });
    await runner.forward({ ids: [1, 2, 3], batch: 1, seqLen: 3, cache: runner.emptyCache(1) });
    runner.session.endProfiling();
    await runner.release();
    const files = readdirSync(tmp.path).filter((f) => f.startsWith('trace') && f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const events = JSON.parse(readFileSync(join(tmp.path, files[0] ?? ''), 'utf8')) as { cat?: string; name?: string; args?: { op_name?: string } }[];
    const kernels = events.filter((e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time'));
    expect(kernels.length).toBeGreaterThan(50);
    expect(kernels.some((e) => e.args?.op_name === 'MatMul')).toBe(true);
    expect(events.filter((e) => e.cat === 'Session' && e.name === 'model_run')).toHaveLength(1);
  }, 120_000);
});
