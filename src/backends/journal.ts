/**
 * Resumable runs: every backend result (a draw of n candidates, a batch of
 * scores) is appended to a JSONL journal as it arrives, written and fsynced
 * line by line. The journal's file name carries a hash of the run's
 * arguments (`journal-<16 hex>.jsonl` in the output folder), so a rerun with
 * the same arguments reads it back and sends only the requests it lacks,
 * while a run with other arguments opens a journal of its own: results of
 * two runs are never mixed. A line cut short by a crash is dropped (and cut
 * off the file) on reopening; a record is one whole request, so a pool's
 * candidates are all there or all redrawn.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptFileError } from '../errors.js';

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof Float32Array || x instanceof Float64Array) return Array.from(x);
    if (x && typeof x === 'object' && !Array.isArray(x)) {
      return Object.fromEntries(Object.entries(x as Record<string, unknown>).filter(([, y]) => y !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return x;
  });
}

export function hashOf(v: unknown): string {
  return createHash('sha256').update(canonicalJson(v)).digest('hex');
}

interface Record_ { k: string; op: string; v: unknown }

export class Journal {
  readonly path: string;
  readonly run: string;
  /** Records read back from an earlier run with the same arguments. */
  readonly resumed: number;
  private readonly records = new Map<string, unknown>();
  private fd: number | undefined;
  private appendedCount = 0;

  private readonly dir: string;
  private readonly args: unknown;

  private constructor(dir: string, run: string, args: unknown) {
    this.dir = dir;
    this.path = join(dir, `journal-${run.slice(0, 16)}.jsonl`);
    this.run = run;
    this.args = args;
    if (existsSync(this.path)) {
      this.fd = openSync(this.path, 'r+');
      this.load(args);
    }
    this.resumed = this.records.size;
  }

  /** The journal of the run `args` describe, in `dir`; the folder and file are created by the first record. */
  static open(dir: string, args: unknown): Journal {
    return new Journal(dir, hashOf(args), args);
  }

  private load(args: unknown): void {
    const text = readFileSync(this.path, 'utf8');
    const lines = text.split('\n');
    let good = 0;
    lines.forEach((line, i) => {
      if (line === '') return;
      let rec: unknown;
      try { rec = JSON.parse(line); } catch (err) {
        if (i === lines.length - 1) return; // a torn last line: the write was cut short
        throw new CorruptFileError(this.path, `line ${i + 1} is not JSON`, { cause: err });
      }
      if (i === 0) {
        const h = rec as { journal?: unknown; run?: unknown; args?: unknown };
        if (h.journal !== 1 || h.run !== this.run || canonicalJson(h.args) !== canonicalJson(args)) throw new CorruptFileError(this.path, 'its header belongs to another run');
      } else {
        const r = rec as Partial<Record_>;
        if (typeof r.k !== 'string' || typeof r.op !== 'string') throw new CorruptFileError(this.path, `line ${i + 1} is not a journal record`);
        if (!this.records.has(r.k)) this.records.set(r.k, r.v);
      }
      good += Buffer.byteLength(line, 'utf8') + 1;
    });
    if (good === 0) throw new CorruptFileError(this.path, 'it has no header');
    ftruncateSync(this.fd as number, good);
    this.offset = good;
  }

  private offset = 0;

  private write(s: string, at: number): void {
    const buf = Buffer.from(s, 'utf8');
    writeSync(this.fd as number, buf, 0, buf.length, at);
    fsyncSync(this.fd as number);
    this.offset = at + buf.length;
  }

  get size(): number { return this.records.size; }
  /** Records written by this process. */
  get appended(): number { return this.appendedCount; }

  get(key: string): unknown {
    return this.records.get(key);
  }

  has(key: string): boolean {
    return this.records.has(key);
  }

  append(key: string, op: string, value: unknown): void {
    if (this.records.has(key)) return;
    if (this.closed) throw new CorruptFileError(this.path, 'the journal is closed');
    if (this.fd === undefined) {
      mkdirSync(this.dir, { recursive: true });
      this.fd = openSync(this.path, 'w+');
      this.write(`${JSON.stringify({ journal: 1, run: this.run, args: this.args })}\n`, 0);
    }
    this.write(`${JSON.stringify({ k: key, op, v: value })}\n`, this.offset);
    this.records.set(key, value);
    this.appendedCount++;
  }

  private closed = false;

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.closed = true;
  }
}
