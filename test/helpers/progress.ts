/** Progress lines on a piped stderr (`<command>: …`, see src/cli/progress.ts), told apart from errors (`onnx-steer: …`). */
import { expect } from 'vitest';

/** stderr without `command`'s progress lines, each checked to be plain (no ANSI escape, no carriage return). */
export function withoutProgress(stderr: string, command: string): string {
  const prefix = `${command}: `;
  const kept: string[] = [];
  for (const line of stderr.split('\n')) {
    if (line.startsWith(prefix)) {
      // eslint-disable-next-line no-control-regex
      expect(line, 'a progress line is plain text').not.toMatch(/[\r\x1b]/);
    } else {
      kept.push(line);
    }
  }
  return kept.join('\n');
}
