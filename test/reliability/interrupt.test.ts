/**
 * Crash safety: the real executable, interrupted by SIGINT or SIGTERM while
 * it writes its output, leaves neither the output nor any temp file behind and
 * exits 130 / 143 (128 + the signal number) after one line on stderr.
 *
 * The signal lands mid-write deterministically: with ONNX_STEER_TEST_PAUSE_AT=write
 * every command stops at its commit point (temp files written, nothing renamed
 * into place) and says so on stderr, naming the temp paths in flight; the test
 * checks those exist, sends the signal, and checks what is left.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDir } from '../helpers/models.js';
import { FIXTURES, REPO, tempDir, TINYSTORIES } from '../helpers/paths.js';

const VECTOR = join(REPO, 'vectors', 'tinystories-656k', 'joy.json');
const PAIRS = join(REPO, 'vectors', 'tinystories-656k', 'joy.pairs.jsonl');
const work = tempDir('onnx-steer-interrupt-');
let modelDir: string;

interface Outcome { code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string; inFlight: string[]; existedAtPause: boolean }

/** Runs the CLI until it pauses at its commit point, delivers `signal`, and waits for the exit. */
function interruptAtWrite(args: string[], signal: 'SIGINT' | 'SIGTERM'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], {
      cwd: REPO, env: { ...process.env, ONNX_STEER_TEST_PAUSE_AT: 'write' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    let inFlight: string[] = [];
    let existedAtPause = false;
    let sent = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no pause within 120 s: ${stderr}`)); }, 120_000);
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /paused at write \(ONNX_STEER_TEST_PAUSE_AT\); in flight: (.*)\n/.exec(stderr);
      if (m && !sent) {
        sent = true;
        inFlight = (m[1] ?? '').split(', ').filter(Boolean);
        existedAtPause = inFlight.length > 0 && inFlight.every((p) => existsSync(p));
        child.kill(signal);
      }
    });
    child.on('error', reject);
    child.on('close', (code, sig) => { clearTimeout(timer); resolve({ code, signal: sig, stderr, stdout, inFlight, existedAtPause }); });
  });
}

beforeAll(async () => {
  modelDir = await defaultDir();
  writeFileSync(join(work.path, 'pairs.jsonl'), readPairs(8));
  writeFileSync(join(work.path, 'prompts.jsonl'), '{"prompt": "Once upon a time"}\n{"prompt": "One day, Tom"}\n');
}, 300_000);
afterAll(() => work.cleanup());

function readPairs(n: number): string {
  return `${readFileSync(PAIRS, 'utf8').split('\n').slice(0, n).join('\n')}\n`;
}

/** Each command with its output path (inside its own folder, so "nothing left" means an empty folder). */
const COMMANDS: [name: string, args: (out: string) => string[], output: string][] = [
  ['build', (o) => ['build', TINYSTORIES, '-o', o], 'built'],
  ['instrument', (o) => ['instrument', join(FIXTURES, 'ort-testdata-gpt2-past-torch16'), '-o', o], 'hooked'],
  ['extract', (o) => ['extract', '--model', modelDir, '--pairs', join(work.path, 'pairs.jsonl'), '--sites', 'blocks.1.hook_resid_post', '--no-recommend', '--threads', '1', '-o', o], 'v.json'],
  ['sweep', (o) => ['sweep', '--model', modelDir, '--pairs', join(work.path, 'pairs.jsonl'), '--folds', '2', '--fractions', '0.5', '--threads', '1', '-o', o], 'sweep.json'],
  ['ab', (o) => ['ab', '--model', modelDir, '--prompts', join(work.path, 'prompts.jsonl'), '--vector', VECTOR, '--strengths', '1', '--n', '2', '--reward', 'afinn', '--gold', 'vader', '--beta', '0', '--max-new-tokens', '4', '--kl-resamples', '1', '--threads', '1', '-o', o], 'report'],
  ['bake', (o) => ['bake', '--model', modelDir, '--vector', `${VECTOR}=2`, '-o', o], 'baked'],
];

describe.concurrent('SIGINT / SIGTERM mid-write leave no partial output', () => {
  // One child per command (each costs a process start); the signals alternate, so each is sent to three commands.
  for (const [index, [name, args, output]] of COMMANDS.entries()) {
    const signal = index % 2 === 0 ? 'SIGINT' as const : 'SIGTERM' as const;
    it(`${name}, ${signal}`, async () => {
      const folder = join(work.path, `${name}-${signal}`);
      mkdirSync(folder);
      const r = await interruptAtWrite(args(join(folder, output)), signal);
      // The pause found temp paths in flight, in the output's folder, and they existed.
      expect(r.inFlight.length, r.stderr).toBeGreaterThan(0);
      expect(r.existedAtPause, r.stderr).toBe(true);
      expect(r.inFlight.some((p) => p.startsWith(folder)), r.inFlight.join(', ')).toBe(true);
      // The conventional status, one line saying so, no stack trace.
      expect(r.code, r.stderr).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(r.stderr).toContain(`onnx-steer: interrupted by ${signal}; no partial output was left`);
      expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
      // Nothing left: no output, no temp file, no temp directory. `ab` keeps its
      // journal (journal-<hash>.jsonl in the output folder) on purpose: a rerun resumes from it.
      if (name === 'ab' && existsSync(join(folder, output))) {
        expect(readdirSync(join(folder, output)).filter((f) => !/^journal-[0-9a-f]{16}\.jsonl$/.test(f)), r.stderr).toEqual([]);
        expect(readdirSync(folder)).toEqual([output]);
      } else {
        expect(readdirSync(folder), r.stderr).toEqual([]);
      }
      for (const p of r.inFlight) expect(existsSync(p), p).toBe(false);
    }, 180_000);
  }
});
