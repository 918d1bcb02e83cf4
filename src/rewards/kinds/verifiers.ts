/**
 * Verifiers: programs, not judges. Each is a 0/1 reward (kind `verifier`):
 *
 *   verifier:regex:<pattern>[/<flags>]       the response matches
 *   verifier:keywords:<w1,w2,…>[@all]        any (default) or all of the words occur (whole words, case-insensitive)
 *   verifier:json-schema:<schema.json>       the response parses as JSON and is valid under the schema (ajv)
 *   verifier:names-again[:<tokens>][:eos]    the response names the prompt's character again within the first
 *                                            <tokens> (default 48) response tokens (and, with :eos, ends with EOS)
 *   verifier:quoted-speech                   the response contains a quoted utterance ("…" or “…”)
 *   verifier:<module>#<export>               a user function returning true/false (or 0/1)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import { UnknownRewardError } from '../../errors.js';
import { loadUserFunction, looksLikePath, parseModuleRef, verifierReward } from './module.js';
import type { RewardKind } from '../spec.js';
import { defineReward, type Reward, type RewardItem } from '../types.js';

export const VERIFIER_KINDS = ['regex', 'keywords', 'json-schema', 'names-again', 'quoted-speech', '<module>#<export>'] as const;
const VERIFIER_USAGES = ['regex:<pattern>', 'keywords:<w1,w2,…>[@all]', 'json-schema:<schema.json>', 'names-again[:<tokens>][:eos]', 'quoted-speech', '<module>#<export>'];

function boolReward(spec: string, test: (item: RewardItem) => boolean): Reward {
  return defineReward(spec, 'verifier', [], (items) => items.map((it) => (test(it) ? 1 : 0)));
}

function regexVerifier(spec: string, body: string): Reward {
  const m = /^(.*)\/([dgimsuy]*)$/s.exec(body);
  const [source, flags] = m && m[1] !== undefined && m[1].length > 0 ? [m[1], (m[2] ?? '').replace('g', '')] : [body, ''];
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (err) {
    throw new UnknownRewardError(spec, `verifier "${spec}": invalid regular expression (${(err as Error).message})`);
  }
  return boolReward(spec, (it) => re.test(it.response));
}

function keywordsVerifier(spec: string, body: string): Reward {
  const all = body.endsWith('@all');
  const list = (all ? body.slice(0, -4) : body.replace(/@any$/, '')).split(',').map((w) => w.trim().toLowerCase()).filter((w) => w.length > 0);
  if (list.length === 0) throw new UnknownRewardError(spec, `verifier "${spec}" names no keywords`);
  const res = list.map((w) => new RegExp(`(^|[^\\p{L}\\p{N}])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\p{L}\\p{N}])`, 'iu'));
  return boolReward(spec, (it) => (all ? res.every((r) => r.test(it.response)) : res.some((r) => r.test(it.response))));
}

function schemaVerifier(spec: string, file: string, cwd: string): Reward {
  const path = resolve(cwd, file);
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UnknownRewardError(spec, `verifier "${spec}": cannot read the schema ${path} (${(err as Error).message.split('\n')[0] ?? ''})`);
  }
  let validate: (data: unknown) => boolean;
  try {
    validate = new Ajv({ strict: false }).compile(schema as object);
  } catch (err) {
    throw new UnknownRewardError(spec, `verifier "${spec}": invalid JSON schema (${(err as Error).message})`);
  }
  return boolReward(spec, (it) => {
    let data: unknown;
    try { data = JSON.parse(it.response.trim()); } catch { return false; }
    return validate(data) === true;
  });
}

/** The character a story opening is about: the word after "named", else the first capitalised name that is not a sentence opener. */
export function promptCharacter(prompt: string): string | undefined {
  const named = /\bnamed\s+([A-Z][a-z]+)/.exec(prompt);
  if (named) return named[1];
  const common = new Set(['Once', 'One', 'There', 'The', 'A', 'An', 'It', 'In', 'On', 'He', 'She', 'They', 'Every', 'Long', 'Today', 'Mom', 'Dad']);
  for (const m of prompt.matchAll(/\b([A-Z][a-z]+)\b/g)) if (!common.has(m[1] as string)) return m[1];
  return undefined;
}

/** Needs `finishReason` on the item (set by the patterns harness) and the response ids to count tokens. */
function namesAgainVerifier(spec: string, tokens: number, eos: boolean, decode?: (ids: readonly number[]) => string): Reward {
  return boolReward(spec, (it) => {
    const who = promptCharacter(it.prompt);
    if (!who) return false;
    if (eos && (it as RewardItem & { finishReason?: string }).finishReason !== 'eos') return false;
    const head = it.ids && decode ? decode(it.ids.slice(0, tokens)) : it.response;
    return new RegExp(`\\b${who}\\b`).test(head);
  });
}

export interface VerifierContext {
  cwd?: string;
  /** Token ids → text, for verifiers that count tokens (names-again). */
  decode?: (ids: readonly number[]) => string;
}

/** A verifier from the body of a `verifier:<body>` spec. */
export async function parseVerifier(spec: string, body: string, ctx: VerifierContext = {}): Promise<Reward> {
  const cwd = ctx.cwd ?? process.cwd();
  const colon = body.indexOf(':');
  const kind = colon >= 0 ? body.slice(0, colon) : body;
  const arg = colon >= 0 ? body.slice(colon + 1) : '';
  switch (kind) {
    case 'regex':
      if (!arg) throw new UnknownRewardError(spec, `verifier "${spec}" needs a pattern after "regex:"`);
      return regexVerifier(spec, arg);
    case 'keywords':
      return keywordsVerifier(spec, arg);
    case 'json-schema':
      if (!arg) throw new UnknownRewardError(spec, `verifier "${spec}" needs a schema file after "json-schema:"`);
      return schemaVerifier(spec, arg, cwd);
    case 'names-again': {
      const parts = arg ? arg.split(':') : [];
      const eos = parts[parts.length - 1] === 'eos';
      if (eos) parts.pop();
      const n = parts.length > 0 ? Number(parts[0]) : 48;
      if (parts.length > 1 || !Number.isInteger(n) || n < 1) throw new UnknownRewardError(spec, `verifier "${spec}": expected names-again[:<tokens>][:eos] with an integer token budget ≥ 1`);
      return namesAgainVerifier(spec, n, eos, ctx.decode);
    }
    case 'quoted-speech':
      return boolReward(spec, (it) => /["“][^"“”]*[\p{L}][^"“”]*["”]/u.test(it.response));
    default: {
      // The module form is explicit: `<module>#<export>`, or a file path. Anything
      // else is a misspelt verifier kind, not a package to import.
      if (!body.includes('#') && !looksLikePath(body)) {
        throw new UnknownRewardError(spec, `unknown verifier "${kind}" in "${spec}" (verifiers: ${VERIFIER_USAGES.join(', ')})`);
      }
      const ref = parseModuleRef(spec, body);
      return verifierReward(spec, ref, await loadUserFunction(ref, cwd));
    }
  }
}

/** The `verifier` reward kind: every verifier above, behind one spec head. */
export const verifierKind: RewardKind = {
  order: 6, name: 'verifier',
  usage: 'verifier:<regex:…|keywords:…|json-schema:…|names-again|quoted-speech|module#export>',
  description: 'a program returning pass/fail (a verifiable 0/1 reward)',
  arg: 'required',
  argHint: 'a verifier (regex:…, keywords:…, json-schema:…, names-again, quoted-speech or <module>#<export>)',
  create: (arg, spec, ctx) => {
    const model = ctx.model;
    return parseVerifier(spec, arg ?? '', { ...(ctx.cwd ? { cwd: ctx.cwd } : {}), ...(model ? { decode: (ids: readonly number[]) => model.decode(ids) } : {}) });
  },
};

export default verifierKind;
