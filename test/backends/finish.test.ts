/** Server finish reasons read back into the local vocabulary (eos, stop, length), rule by rule. */
import { describe, expect, it } from 'vitest';
import { localFinishReason, type FinishInput } from '../../src/backends/openai-finish.js';
import { BackendRequestError } from '../../src/errors.js';

const f = (o: Partial<FinishInput>) => localFinishReason({ finishReason: 'stop', ids: [5, 6], stop: undefined, eosIds: undefined, ...o }, 'http://h/v1', 0);

describe('finish reasons from a server', () => {
  it('length stays length; a server that says eos is believed', () => {
    expect(f({ finishReason: 'length' })).toBe('length');
    expect(f({ finishReason: null })).toBe('length');
    expect(f({ finishReason: 'eos' })).toBe('eos');
  });
  it("vLLM's stop_reason: a string is a stop string, null or a token id is the end of the sequence", () => {
    expect(f({ stopReason: '\n', stop: ['\n'] })).toBe('stop');
    expect(f({ stopReason: null, stop: ['\n'] })).toBe('eos');
    expect(f({ stopReason: 2, stop: ['\n'] })).toBe('eos');
  });
  it('without stop_reason: the last id against the model\'s EOS ids, else no stop strings means EOS', () => {
    expect(f({ stop: ['\n'], ids: [5, 0], eosIds: new Set([0]) })).toBe('eos');
    expect(f({ stop: ['\n'], ids: [5, 6], eosIds: new Set([0]) })).toBe('stop');
    expect(f({ stop: ['\n'] })).toBe('stop');
    expect(f({ stop: [] })).toBe('eos');
    expect(f({})).toBe('eos');
  });
  it('a row the server cut off (abort, content_filter) is refused', () => {
    expect(() => f({ finishReason: 'abort' })).toThrow(BackendRequestError);
    expect(() => f({ finishReason: 'content_filter' })).toThrow(/ended row 0 with finish_reason "content_filter"/);
  });
});
