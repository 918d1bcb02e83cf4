/** The onnx-steer command-line interface: the program and its exit-code contract. */
import { Command, CommanderError } from 'commander';
import { LIBRARY_VERSION } from '../version.js';
import { reportError } from './common.js';
import { setQuiet } from './progress.js';
import { registerBuild } from './commands/build.js';
import { registerInstrument } from './commands/instrument.js';
import { registerInspect } from './commands/inspect.js';
import { registerGenerate } from './commands/generate.js';
import { registerExtract } from './commands/extract.js';
import { registerSweep } from './commands/sweep.js';
import { registerDemo } from './commands/demo.js';
import { registerBon } from './commands/bon.js';
import { registerAb } from './commands/ab.js';
import { registerPrefs } from './commands/prefs.js';
import { registerBake, registerExport, registerImport } from './commands/interop.js';
import { registerPatterns } from './commands/patterns.js';
import { registerServe } from './commands/serve.js';
import { registerStudy } from './commands/study.js';

export function createProgram(): Command {
  const program = new Command();
  program
    .name('onnx-steer')
    .description('Representation engineering on ONNX language models: hook, extract, steer, compare.')
    .version(LIBRARY_VERSION)
    .option('-q, --quiet', 'no progress on stderr (errors and warnings still print); progress never goes to stdout')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.replace(/^error: /, 'onnx-steer: ')) });
  registerBuild(program);
  registerInstrument(program);
  registerInspect(program);
  registerGenerate(program);
  registerExtract(program);
  registerSweep(program);
  registerDemo(program);
  registerBon(program);
  registerAb(program);
  registerPrefs(program);
  registerExport(program);
  registerImport(program);
  registerPatterns(program);
  registerBake(program);
  registerServe(program);
  registerStudy(program);
  for (const cmd of program.commands) cmd.exitOverride();
  // --quiet is global: before or after the command name (`onnx-steer -q ab …`, `onnx-steer ab … --quiet`).
  program.hook('preAction', (_program, action) => { setQuiet(action.optsWithGlobals<{ quiet?: boolean }>().quiet === true); });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      if (err.code === 'commander.executeSubCommandAsync') return err.exitCode;
      return 2;
    }
    return reportError(err);
  }
}

