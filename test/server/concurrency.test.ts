/**
 * 100 concurrent requests (distinct vectors and strengths, no steering,
 * streaming, chat, n > 1, seeded sampling) each return exactly what they
 * return alone; nothing is lost or duplicated; memory returns to idle.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type OpenAI from 'openai';
import type { HookedModel } from '../../src/model/hooked-model.js';
import { loadDefault } from '../helpers/models.js';
import { MODEL, startServer, type Running } from './helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let model: HookedModel;
let srv: Running;
beforeAll(async () => {
  model = await loadDefault();
  srv = await startServer(model, { maxBatch: 16 });
});
afterAll(async () => {
  await srv?.close();
  await model?.dispose();
});

const PROMPTS = ['Once upon a time', 'The little dog', 'Lily and Tom went to the park. They', 'One day, a big bear', 'Sam had a red ball'];

interface Case { stream: boolean; chat: boolean; body: Record<string, unknown> }

function cases(): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < 100; i++) {
    const steer = i % 4 === 0 ? undefined : { vectors: [{ source: i % 4 === 1 ? 'joy' : 'dialogue', scale: ((i % 7) - 3) * 2 || 1, ...(i % 8 === 3 ? { apply: { generation: 'all' } } : {}) }] };
    const body: Record<string, unknown> = {
      model: MODEL, max_tokens: 4 + (i % 5) * 2,
      ...(i % 3 === 0 ? { temperature: 0 } : { temperature: 0.9, seed: 1000 + i, top_p: 0.9 }),
      ...(i % 10 === 5 ? { n: 2 } : {}),
      ...(steer ? { steering: steer } : {}),
    };
    const chat = i % 6 === 1;
    if (chat) body.messages = [{ role: 'user', content: PROMPTS[i % PROMPTS.length] }];
    else body.prompt = PROMPTS[i % PROMPTS.length];
    out.push({ stream: i % 2 === 1, chat, body });
  }
  return out;
}

/** Texts per choice index, read the way the case asks (streamed or not). */
async function run(client: OpenAI, c: Case): Promise<string[]> {
  const texts: string[] = [];
  if (c.chat) {
    if (!c.stream) return (await client.chat.completions.create({ ...c.body, stream: false } as never) as OpenAI.ChatCompletion).choices.map((x) => x.message.content ?? '');
    const s = await client.chat.completions.create({ ...c.body, stream: true } as never) as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>;
    for await (const chunk of s) for (const x of chunk.choices) texts[x.index] = (texts[x.index] ?? '') + (x.delta.content ?? '');
    return texts;
  }
  if (!c.stream) return (await client.completions.create({ ...c.body, stream: false } as never) as OpenAI.Completion).choices.map((x) => x.text);
  const s = await client.completions.create({ ...c.body, stream: true } as never) as unknown as AsyncIterable<OpenAI.Completion>;
  for await (const chunk of s) for (const x of chunk.choices) texts[x.index] = (texts[x.index] ?? '') + x.text;
  return texts;
}

function memory(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('continuous batching under load', () => {
  it('100 concurrent mixed requests each equal their solo result; memory returns to idle', async () => {
    const all = cases();
    const solo: string[][] = [];
    for (const c of all) solo.push(await run(srv.client, c));
    const idle = memory();
    const before = srv.server.scheduler.metrics();
    const together = await Promise.all(all.map((c) => run(srv.client, c)));
    const after = srv.server.scheduler.metrics();
    expect(together).toEqual(solo);
    // Every row ran exactly once: as many jobs and tokens as the solo pass.
    expect(after.requestsTotal - before.requestsTotal).toBe(100);
    expect(after.generatedTokensTotal - before.generatedTokensTotal).toBe(before.generatedTokensTotal);
    // The batch really was shared.
    expect((after.rowStepsTotal - before.rowStepsTotal) / (after.decodeStepsTotal - before.decodeStepsTotal)).toBeGreaterThan(4);
    expect(after.runningRows + after.queuedRows + after.paddingSlots).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(memory() - idle).toBeLessThan(16 * 2 ** 20);
  });
});
