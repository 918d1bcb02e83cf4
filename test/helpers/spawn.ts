/**
 * The real executable as a child (tsx on src/cli/main.ts), stdout and stderr
 * piped, awaited without blocking the test worker's event loop (spawnSync
 * over a long run starves vitest's worker RPC: "Timeout calling onTaskUpdate").
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './paths.js';

export interface CliRun { code: number | null; stdout: string; stderr: string }

export function spawnCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 150_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`timed out after ${timeoutMs} ms: ${args.join(' ')}\n${stderr}`)); }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}
