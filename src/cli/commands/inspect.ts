/**
 * `onnx-steer inspect`: describe a hooked model directory (from hooks.json),
 * or report whether and how a raw ONNX graph can be instrumented.
 */
import { existsSync, statSync } from 'node:fs';
import { checkManifestAgainstGraph } from '../../hooks/consistency.js';
import { readModel } from '../../onnx/io.js';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { analyzeModel, type InstrumentReport } from '../../instrument/index.js';
import { manifestPath, readManifest, type CacheLayout, type HooksManifest } from '../../hooks/manifest.js';
import { FileNotFoundError } from '../../errors.js';
import { printJson } from '../common.js';

interface InspectCliOptions { json?: boolean }

function cacheLine(c: CacheLayout): string {
  const shape = `${c.numLayers} layers × ${c.numKvHeads} kv heads × head dim ${c.headDim}, ${c.dtype}`;
  if (c.kind === 'stacked') return `stacked [2, batch, heads, seq, head_dim] per layer (${c.pastStacked?.[0] ?? '?'} → ${c.presentStacked?.[0] ?? '?'}, …); ${shape}`;
  const first = c.past?.[0];
  const firstOut = c.present?.[0];
  const names = first ? `${first.key}/${first.value} → ${firstOut?.key ?? '?'}/${firstOut?.value ?? '?'}, …` : '';
  if (c.kind === 'static') {
    return `static [batch, ${c.maxLength ?? '?'}, kv_heads·head_dim] buffers (${names}); ${shape}; write index input ${c.writeIndices ?? '?'}` +
      (c.validLength ? `, valid length input ${c.validLength}` : '');
  }
  return `bnsh [batch, kv_heads, seq, head_dim] (${names}); ${shape}`;
}

function inputsLine(inputs: InstrumentReport['inputs'] | HooksManifest['inputs']): string {
  const parts = [inputs.inputIds, inputs.attentionMask, inputs.positionIds].filter((x) => !!x).map((x) => `${x?.name} (${x?.dtype})`);
  const extra = [inputs.padding ? `padding ${inputs.padding}` : '', inputs.maxSequence ? `at most ${inputs.maxSequence} token(s) per run` : ''].filter(Boolean);
  return [parts.join(', ') || '(none found)', ...extra].join('; ');
}

function outputsLine(o: { logits?: string; lastHidden?: string }): string {
  if (o.logits) return `logits in "${o.logits}"`;
  if (o.lastHidden) return `last hidden state in "${o.lastHidden}" (no logits)`;
  return '(none found)';
}

export function formatManifest(dir: string, m: HooksManifest): string {
  const lines = [
    `hooked model ${dir}`,
    `  architecture  ${m.architecture}`,
    `  origin        ${m.origin.kind}${m.origin.producer ? ` from ${m.origin.producer}` : ''}${m.origin.source ? ` (${m.origin.source})` : ''}`,
    `  blocks        ${m.numBlocks}`,
    `  hidden        ${m.hiddenSize}`,
    `  dtype         ${m.dtype}${m.vocabSize ? `, vocab ${m.vocabSize}` : ''}`,
    `  inputs        ${inputsLine(m.inputs)}`,
    `  outputs       ${outputsLine(m.outputs)}`,
    `  cache         ${cacheLine(m.cache)}`,
    `  fingerprint   ${m.fingerprint}`,
    `  sites (${m.sites.length}):`,
  ];
  const width = Math.max(...m.sites.map((s) => s.name.length), 4);
  for (const s of m.sites) lines.push(`    ${s.name.padEnd(width)}  capture ${s.capture}  steer ${s.steer}  ablate ${s.ablate}`);
  return `${lines.join('\n')}\n`;
}

export function formatReport(path: string, r: InstrumentReport): string {
  const lines = [
    `${path}: ${r.instrumentable ? 'can be instrumented' : 'cannot be instrumented'}`,
    `  producer      ${r.producer}`,
    `  architecture  ${r.architecture}`,
  ];
  if (!r.instrumentable) lines.push(`  reason        ${r.reason ?? 'unknown'}`);
  if (r.numBlocks) lines.push(`  blocks        ${r.numBlocks}`);
  if (r.hiddenSize) lines.push(`  hidden        ${r.hiddenSize}`);
  if (r.dtype) lines.push(`  dtype         ${r.dtype}`);
  lines.push(`  inputs        ${inputsLine(r.inputs)}`);
  lines.push(`  outputs       ${outputsLine(r.outputs)}`);
  if (r.cache) lines.push(`  cache         ${cacheLine(r.cache)}`);
  if (r.residuals.length > 0) {
    lines.push(`  residual stream (${r.residuals.length} sites):`);
    const width = Math.max(...r.residuals.map((s) => s.site.length));
    for (const s of r.residuals) lines.push(`    ${s.site.padEnd(width)}  ${s.tensor || '(new tensor)'}  ${s.how}`);
    lines.push(`  next: onnx-steer instrument ${path} -o <dir>`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('describe a hooked model directory, or report how a raw ONNX decoder can be instrumented')
    .argument('<model-dir-or-onnx>', 'a hooked model directory (with hooks.json), an .onnx file, or a directory holding one')
    .option('--json', 'print JSON')
    .action((target: string, opts: InspectCliOptions) => {
      const path = resolve(target);
      if (!existsSync(path)) throw new FileNotFoundError(path, 'model directory or ONNX file');
      if (statSync(path).isDirectory() && existsSync(manifestPath(path))) {
        const manifest = readManifest(path);
        // The graph and its external data must be whole and agree with the manifest.
        const { model } = readModel(join(path, manifest.model));
        checkManifestAgainstGraph(manifest, model, join(path, manifest.model));
        if (opts.json) printJson({ kind: 'hooked', dir: path, manifest });
        else process.stdout.write(formatManifest(path, manifest));
        return;
      }
      const report = analyzeModel(path);
      if (opts.json) printJson({ kind: 'onnx', path, report });
      else process.stdout.write(formatReport(path, report));
    });
}
