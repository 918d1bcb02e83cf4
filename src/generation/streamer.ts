/**
 * Incremental detokenization for streaming. Text is emitted only once it is
 * complete: a token that ends inside a multi-byte character (decoded as
 * U+FFFD) is held back until the character is whole. Only a short window of
 * recent tokens is decoded per step, so streaming stays linear in length.
 */
export type DecodeFn = (ids: readonly number[]) => string;

export class IncrementalDecoder {
  private readonly decode: DecodeFn;
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;
  /** All text emitted so far. */
  text = '';

  constructor(decode: DecodeFn) {
    this.decode = decode;
  }

  /** Adds a token; returns the newly completed text (possibly empty). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decode(this.ids.slice(this.prefixOffset));
    if (full.length > prefix.length && !full.endsWith('\uFFFD') && full.startsWith(prefix)) {
      const delta = full.slice(prefix.length);
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      this.text += delta;
      return delta;
    }
    return '';
  }

  /** Flushes whatever is pending (at the end of generation). */
  flush(): string {
    const prefix = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decode(this.ids.slice(this.prefixOffset));
    if (full.length <= prefix.length || !full.startsWith(prefix)) return '';
    const delta = full.slice(prefix.length);
    this.prefixOffset = this.readOffset = this.ids.length;
    this.text += delta;
    return delta;
  }
}
