/** `onnx-steer instrument` and `onnx-steer inspect` through commander. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerInstrument } from '../../src/cli/commands/instrument.js';
import { registerInspect } from '../../src/cli/commands/inspect.js';
import { reportError } from '../../src/cli/common.js';
import { OutputExistsError, UsageError } from '../../src/errors.js';
import type { HooksManifest } from '../../src/hooks/manifest.js';
import { BEAM_SEARCH, FIXTURES, tempDir } from '../helpers/fixtures.js';
import { runCommands } from '../helpers/cli.js';

const MB = join(FIXTURES, 'ortgenai-mb-tiny-llama-fp16');

const cli = (...args: string[]): Promise<string> => runCommands([registerInstrument, registerInspect], args);

let work: string;
beforeAll(() => { work = tempDir('cli'); });
afterAll(() => { if (work) rmSync(work, { recursive: true, force: true }); });

describe('onnx-steer instrument', () => {
  it('writes a hooked model and prints the manifest with --json', async () => {
    const out = join(work, 'mb');
    const m = JSON.parse(await cli('instrument', MB, '-o', out, '--json')) as HooksManifest;
    expect(m.numBlocks).toBe(2);
    expect(m.dtype).toBe('float16');
    expect(m.sites).toHaveLength(6);
    expect(m.tokenizer?.files).toEqual(expect.arrayContaining(['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']));
  });

  it('prints a summary, honours --sites and refuses an existing output without --force', async () => {
    const out = join(work, 'mb-post');
    const text = await cli('instrument', MB, '-o', out, '--sites', 'hook_resid_post');
    expect(text).toContain('sites         2: blocks.0.hook_resid_post, blocks.1.hook_resid_post');
    let error: unknown;
    try {
      await cli('instrument', MB, '-o', out);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(OutputExistsError);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(reportError(error)).toBe(1);
    stderr.mockRestore();
    await expect(cli('instrument', MB, '-o', out, '--force')).resolves.toContain('sites         6');
  });

  it('treats an unknown site as a usage error (exit 2)', async () => {
    const err = await cli('instrument', MB, '-o', join(work, 'bad-sites'), '--sites', 'blocks.7.hook_resid_post').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).message).toMatch(/unknown hook site "blocks\.7\.hook_resid_post"/);
  });

  it('requires -o', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    await expect(cli('instrument', MB)).rejects.toThrow(/required option/);
    stderr.mockRestore();
  });
});

describe('onnx-steer inspect', () => {
  it('describes a hooked model directory', async () => {
    const out = join(work, 'inspect-hooked');
    await cli('instrument', MB, '-o', out);
    const text = await cli('inspect', out);
    for (const s of ['architecture  llama-like', 'blocks        2', 'hidden        16', 'dtype         float16', 'cache         bnsh',
      'blocks.1.hook_resid_post  capture blocks.1.hook_resid_post  steer blocks.1.hook_resid_post.steer  ablate blocks.1.hook_resid_post.ablate']) {
      expect(text).toContain(s);
    }
    const json = JSON.parse(await cli('inspect', out, '--json')) as { kind: string; manifest: HooksManifest };
    expect(json.kind).toBe('hooked');
    expect(json.manifest.sites).toHaveLength(6);
  });

  it('reports how a raw graph can be instrumented', async () => {
    const text = await cli('inspect', MB);
    expect(text).toContain('can be instrumented');
    expect(text).toContain('blocks.1.hook_resid_post');
    expect(text).toContain('SkipSimplifiedLayerNormalization');
    expect(text).toContain('not exposed');
    const json = JSON.parse(await cli('inspect', MB, '--json')) as { kind: string; report: { instrumentable: boolean; numBlocks: number } };
    expect(json).toMatchObject({ kind: 'onnx', report: { instrumentable: true, numBlocks: 2 } });
  });

  it('explains why a graph cannot be instrumented', async () => {
    const text = await cli('inspect', BEAM_SEARCH);
    expect(text).toContain('cannot be instrumented');
    expect(text).toMatch(/reason\s+found one com\.microsoft\.BeamSearch node whose decoder is a subgraph/);
  });
});
