/**
 * The sampling flags of the commands that draw candidate pools (`ab`,
 * `study`): seed, temperature, top-p and tokens per candidate, with the same
 * help text and validation everywhere.
 */
import type { Command } from 'commander';
import { quantityOption } from '../../validate/index.js';

export function addPoolSamplingOptions(cmd: Command): Command {
  return cmd
    .option('--seed <s>', 'sampling seed (default 0)', quantityOption('seed'))
    .option('--temperature <t>', 'sampling temperature (default 1)', quantityOption('temperature'))
    .option('--top-p <p>', 'nucleus sampling mass (default 1)', quantityOption('topP'))
    .option('--max-new-tokens <n>', 'tokens per candidate (default 64)', quantityOption('maxNewTokens'));
}
