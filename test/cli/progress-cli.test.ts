/**
 * Progress of the real executable with stderr piped (as in CI or `2>log`):
 * plain `<command>: …` lines on stderr, no ANSI escapes and no carriage
 * returns, a stdout that parses as JSON with --json, and nothing at all on
 * stderr with --quiet (before or after the command name). The rate limit is
 * tested on the reporter with a clock (test/cli/progress.test.ts), not here.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDir } from '../helpers/models.js';
import { FIXTURES, REPO, tempDir, TINYSTORIES } from '../helpers/paths.js';
import { spawnCli, type CliRun } from '../helpers/spawn.js';

const VECTOR = join(REPO, 'vectors', 'tinystories-656k', 'joy.json');
const PAIRS = join(REPO, 'vectors', 'tinystories-656k', 'joy.pairs.jsonl');
const work = tempDir('onnx-steer-progress-');
const W = (name: string) => join(work.path, name);
let modelDir: string;

type Run = CliRun;
const run = (args: string[], env: Record<string, string> = {}): Promise<Run> => spawnCli(args, env);

/** Every stderr line is a plain progress line of `command`. */
function progressLines(r: Run, command: string): string[] {
  // eslint-disable-next-line no-control-regex
  expect(r.stderr, 'no ANSI escapes or carriage returns').not.toMatch(/[\r\x1b]/);
  const lines = r.stderr.split('\n').filter(Boolean);
  for (const line of lines) expect(line, r.stderr).toMatch(new RegExp(`^${command}: \\S`));
  return lines;
}

beforeAll(async () => {
  modelDir = await defaultDir();
  writeFileSync(W('pairs.jsonl'), `${readFileSync(PAIRS, 'utf8').split('\n').slice(0, 8).join('\n')}\n`);
  writeFileSync(W('prompts.jsonl'), '{"prompt": "Once upon a time"}\n{"prompt": "One day, Tom"}\n');
}, 300_000);
afterAll(() => work.cleanup());

const abArgs = (out: string) => ['ab', '--model', modelDir, '--prompts', W('prompts.jsonl'), '--vector', VECTOR, '--strengths', '1', '--n', '2', '--reward', 'afinn', '--gold', 'vader',
  '--beta', '0', '--max-new-tokens', '4', '--kl-resamples', '5', '--threads', '1', '-o', out, '--json'];

describe.concurrent('progress on a piped stderr', () => {
  it('ab: one line per stage, the last at 100%, and a stdout that is only JSON', async () => {
    const r = await run(abArgs(W('ab')));
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { arms: unknown[] };
    expect(doc.arms.length).toBeGreaterThan(0);
    const lines = progressLines(r, 'ab');
    expect(lines).toContain('ab: generating 1/2 prompts (50%)');
    expect(lines).toContain('ab: generating 2/2 prompts (100%)');
    expect(lines.at(-1)).toMatch(/^ab: evaluating (\d+)\/\1 arms \(100%\)$/);
  }, 180_000);

  it('ab --quiet and -q before the command: nothing on stderr, the same JSON on stdout', async () => {
    const after = await run([...abArgs(W('ab-quiet')), '--quiet']);
    const before = await run(['-q', ...abArgs(W('ab-q'))]);
    for (const r of [after, before]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      expect((JSON.parse(r.stdout) as { arms: unknown[] }).arms.length).toBeGreaterThan(0);
    }
  }, 180_000);

  it('extract and sweep: their stages, with --json on stdout', async () => {
    const extract = await run(['extract', '--model', modelDir, '--pairs', W('pairs.jsonl'), '--sites', 'blocks.1.hook_resid_post', '--no-recommend', '--threads', '1', '-o', W('v.json'), '--json']);
    expect(extract.code, extract.stderr).toBe(0);
    expect((JSON.parse(extract.stdout) as { output: string }).output).toBe(W('v.json'));
    expect(progressLines(extract, 'extract')).toEqual(['extract: extracting mean-diff at blocks.1.hook_resid_post']);
    const sweep = await run(['sweep', '--model', modelDir, '--pairs', W('pairs.jsonl'), '--sites', 'blocks.0.hook_resid_post,blocks.1.hook_resid_post', '--folds', '2', '--fractions', '0.5', '--threads', '1', '--json']);
    expect(sweep.code, sweep.stderr).toBe(0);
    expect((JSON.parse(sweep.stdout) as { sites: unknown[] }).sites).toHaveLength(2);
    expect(progressLines(sweep, 'sweep')).toEqual([
      'sweep: reading 8 pairs at 2 site(s)',
      'sweep: site blocks.0.hook_resid_post: separability and 2 strengths',
      'sweep: site blocks.1.hook_resid_post: separability and 2 strengths',
    ]);
  }, 180_000);

  it('build, instrument and bake: counted tensors or stages, ending at the write', async () => {
    const build = await run(['build', TINYSTORIES, '-o', W('built')]);
    expect(build.code, build.stderr).toBe(0);
    const built = progressLines(build, 'build');
    expect(built[0]).toMatch(/^build: writing 1\/(\d+) tensors \(\d+%\)$/);
    expect(built.at(-1)).toMatch(/^build: writing (\d+)\/\1 tensors \(100%\)$/);
    expect(build.stdout).toMatch(/^built LlamaForCausalLM /);
    const instrument = await run(['instrument', join(FIXTURES, 'ort-testdata-gpt2-past-torch16'), '-o', W('hooked'), '--json']);
    expect(instrument.code, instrument.stderr).toBe(0);
    expect((JSON.parse(instrument.stdout) as { format: string }).format).toBe('onnx-steer.hooks');
    const inst = progressLines(instrument, 'instrument');
    expect(inst[0]).toBe(`instrument: reading ${join(FIXTURES, 'ort-testdata-gpt2-past-torch16')}`);
    expect(inst.at(-1)).toBe(`instrument: writing ${W('hooked')}`);
    const bake = await run(['bake', '--model', modelDir, '--vector', `${VECTOR}=2`, '-o', W('baked')]);
    expect(bake.code, bake.stderr).toBe(0);
    expect(progressLines(bake, 'bake')).toEqual([
      `bake: reading ${join(modelDir, 'model.onnx')}`, expect.stringMatching(/^bake: removing \d+ hook sites$/), 'bake: adding 2·v at 1 site(s)', `bake: writing ${W('baked')}`,
    ]);
  }, 180_000);

  it('bon and prefs: stage lines and counted passes, with --json on stdout', async () => {
    const bon = await run(['bon', '--model', modelDir, '--prompt', 'Once upon a time', '--n', '2', '--reward', 'afinn', '--utility', 'rouge-l', '--max-new-tokens', '3', '--threads', '1', '--json']);
    expect(bon.code, bon.stderr).toBe(0);
    expect((JSON.parse(bon.stdout) as { candidates: unknown[] }).candidates).toHaveLength(2);
    expect(progressLines(bon, 'bon')).toEqual(['bon: sampling 2 candidates', 'bon: scoring 2 candidates (afinn, utility rouge-l)']);
    const prefs = await run(['prefs', '--policy', modelDir, '--pairs', W('pairs.jsonl'), '--threads', '1', '--json']);
    expect(prefs.code, prefs.stderr).toBe(0);
    expect((JSON.parse(prefs.stdout) as { pairs: unknown[] }).pairs).toHaveLength(8);
    const lines = progressLines(prefs, 'prefs');
    expect(lines[0]).toBe('prefs: scoring 8 pairs under the policy and 1 reference(s): 16 passes');
    expect(lines[1]).toBe('prefs: scored 1/16 passes (6%)');
    expect(lines.at(-1)).toBe('prefs: scored 16/16 passes (100%)');
  }, 180_000);

  it('the default model built on first use: counted tensors, then the command', async () => {
    const r = await run(['generate', '--prompt', 'Once', '--max-new-tokens', '1', '--seed', '0'], { ONNX_STEER_CACHE: W('cache'), ONNX_STEER_CHECKPOINT: TINYSTORIES });
    expect(r.code, r.stderr).toBe(0);
    const lines = progressLines(r, 'generate');
    expect(lines[0]).toMatch(/^generate: building the default model \(first use\) 1\/(\d+) tensors/);
    expect(lines.at(-1)).toMatch(/^generate: building the default model \(first use\) (\d+)\/\1 tensors \(100%\)$/);
  }, 180_000);
});
