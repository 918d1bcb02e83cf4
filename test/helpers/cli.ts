/** Runs CLI commands in-process through commander, without progress, and returns what they print on stdout. */
import { Command } from 'commander';
import { vi } from 'vitest';
import { setQuiet } from '../../src/cli/progress.js';

export async function runCommands(registers: readonly ((program: Command) => void)[], args: readonly string[]): Promise<string> {
  const program = new Command().exitOverride();
  for (const register of registers) register(program);
  for (const c of program.commands) c.exitOverride();
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  });
  // No progress lines in the test log (the program's --quiet hook is not installed here).
  setQuiet(true);
  try {
    await program.parseAsync([...args], { from: 'user' });
  } finally {
    setQuiet(false);
    spy.mockRestore();
  }
  return out;
}

/** Runs `onnx-steer <args>` in-process through the CLI's main(), capturing stdout and stderr. */
export async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import('../../src/cli/program.js');
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => { stdout += String(c); return true; });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { stderr += String(c); return true; });
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
