/**
 * Progress of long-running commands, always on stderr (never on stdout, so
 * `--json` output stays parseable), silenced by the global `--quiet`.
 *
 * - stderr a terminal: cli-progress bars for counted stages, a line per
 *   stage message.
 * - stderr a pipe or a file (CI logs, `2>log`): plain lines, no ANSI escapes
 *   and no carriage returns, in the form git and rsync use
 *   (`ab: generating 12/36 prompts (33%)`). A counted stage prints its first
 *   and last update and at most one line per interval in between; a stage
 *   message (a stage change) always prints.
 *
 * Library functions report through `onProgress` callbacks; only this module
 * writes progress, one reporter per command.
 */
import cliProgress from 'cli-progress';

/** Where progress goes: process.stderr, or a test double. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface ProgressOptions {
  /** Default: process.stderr. */
  stream?: ProgressStream;
  /** Draw bars (default: whether the stream is a terminal). */
  tty?: boolean;
  /** Print nothing (default: the global --quiet of the running command). */
  quiet?: boolean;
  /** Least time between two lines of one counted stage when not a terminal (default 3 s). */
  intervalMs?: number;
  /** Clock in milliseconds (default Date.now). */
  now?: () => number;
}

export interface Progress {
  /** A stage change or a note: always one line. */
  message(text: string): void;
  /** `done` of `total` items of a stage, e.g. count('generating', 12, 36, 'prompts'). */
  count(stage: string, done: number, total: number, noun?: string): void;
  /** A download: `received` of `total` bytes (total unknown without a Content-Length). */
  bytes(file: string, received: number, total: number | undefined): void;
  /** Ends a bar in flight (call before printing results and in `finally`). */
  stop(): void;
}

export const DEFAULT_INTERVAL_MS = 3000;

let quietByDefault = false;

/** Set once per invocation by the program from the global `--quiet`. */
export function setQuiet(quiet: boolean): void {
  quietByDefault = quiet;
}

const SILENT: Progress = { message: () => undefined, count: () => undefined, bytes: () => undefined, stop: () => undefined };

/** One line of text: control characters (ANSI escapes, CR, LF) become spaces. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function percent(done: number, total: number): string {
  return total > 0 ? ` (${Math.floor((100 * Math.min(done, total)) / total)}%)` : '';
}

/** The reporter of `command` (the prefix of its lines). */
export function progressFor(command: string, options: ProgressOptions = {}): Progress {
  if (options.quiet ?? quietByDefault) return SILENT;
  const stream = options.stream ?? process.stderr;
  return (options.tty ?? stream.isTTY === true) ? barReporter(command, stream) : lineReporter(command, stream, options.intervalMs ?? DEFAULT_INTERVAL_MS, options.now ?? Date.now);
}

function lineReporter(command: string, stream: ProgressStream, intervalMs: number, now: () => number): Progress {
  let key = '';
  let last = -Infinity;
  let lastLine = '';
  const emit = (text: string) => {
    const line = `${command}: ${oneLine(text)}`;
    stream.write(`${line}\n`);
    last = now();
    lastLine = line;
  };
  const counted = (k: string, done: number, total: number | undefined, text: () => string) => {
    const first = k !== key;
    key = k;
    const final = total !== undefined && done >= total;
    if (first || (final && `${command}: ${oneLine(text())}` !== lastLine) || now() - last >= intervalMs) emit(text());
  };
  return {
    message: (text) => { key = ''; emit(text); },
    count: (stage, done, total, noun) => counted(`count\0${stage}\0${noun ?? ''}\0${total}`, done, total, () => `${stage} ${done}/${total}${noun ? ` ${noun}` : ''}${percent(done, total)}`),
    bytes: (file, received, total) => counted(`bytes\0${file}`, received, total, () => `downloading ${file} ${total !== undefined ? `${mib(received)}/${mib(total)} MiB${percent(received, total)}` : `${mib(received)} MiB`}`),
    stop: () => { key = ''; },
  };
}

function barReporter(command: string, stream: ProgressStream): Progress {
  let bar: cliProgress.SingleBar | undefined;
  let key = '';
  const stop = () => { bar?.stop(); bar = undefined; key = ''; };
  const draw = (k: string, format: string, value: number, total: number) => {
    if (k !== key || !bar) {
      stop();
      key = k;
      bar = new cliProgress.SingleBar({ format, stream, hideCursor: true }, cliProgress.Presets.shades_classic);
      bar.start(total, value);
    } else {
      bar.update(value);
    }
  };
  return {
    message: (text) => { stop(); stream.write(`${command}: ${oneLine(text)}\n`); },
    count: (stage, done, total, noun) => draw(`count\0${stage}\0${noun ?? ''}\0${total}`, `${command}: ${stage} [{bar}] {value}/{total}${noun ? ` ${noun}` : ''}`, done, total),
    bytes: (file, received, total) => draw(`bytes\0${file}`, `downloading ${file} [{bar}] {percentage}% {value}/{total} bytes`, received, total ?? 0),
    stop,
  };
}
