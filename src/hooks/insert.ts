/**
 * Hook sites: the one place where a site's sub-graph is assembled.
 *
 * A site on a residual tensor `h` applies a chain of operators, each reading
 * one graph input of the site (zeros by default, so callers feed only what
 * they use), and exposes the result as the capture output named after the
 * site. Every former consumer of `h` reads the result. The chain, in order:
 *
 *   ablate   r [batch, seq|1, hidden]:  h ← h − (h·r) r   (r unit norm per row)
 *   steer    s [batch, seq|1, hidden]:  h ← h + s
 *   renorm   g [batch, seq|1, 1]:       h ← h · (1 + g · (‖h₀‖ / ‖h‖ − 1))
 *
 * (h₀ is the residual entering the site, so g = 1 keeps its norm and g = 0
 * leaves the steered residual as it is.)
 *
 * Files on disk carry every operator of every site (renorm only when built
 * with `normPreserving`). The runtime re-assembles sites with the operators a
 * session needs (see specialize.ts) through {@link assembleSite}, so a session
 * that only steers pays one `Sum` in place of the residual `Add`.
 *
 * Adding an operator: append a {@link SiteOperator} to {@link SITE_OPERATORS}
 * at its place in the chain (its input kind, width and `apply`), give
 * {@link HookSiteInfo} a field for its input, and teach the runtime's plan
 * compiler to feed it; packing, specialisation and the manifest read the
 * registry, so nothing else changes.
 */
import { DataType } from '../onnx/proto.js';
import { int64Tensor, makeTensor, zerosTensor } from '../onnx/attributes.js';
import { floatToHalf } from '../onnx/fp16.js';
import { GraphEditor, makeValueInfo } from '../onnx/graph.js';
import { UnsupportedDtypeError } from '../errors.js';
import { siteTensorNames } from './sites.js';
import type { FloatDtype, HookSiteInfo } from './manifest.js';

export interface HookInsertOptions {
  hiddenSize: number;
  dtype: FloatDtype;
  block: number;
  /** Add the norm-preserving gate input (default false: it costs ops at every step). */
  normPreserving?: boolean;
}

/** The kinds of per-site inputs, in chain order. */
export type HookInputKind = 'ablate' | 'steer' | 'renorm';

const AXES_NAME = 'onnx_steer::axes_last';

export function elemTypeOf(dtype: FloatDtype): number {
  return dtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
}

export function dtypeOfElemType(elemType: number): FloatDtype {
  if (elemType === DataType.FLOAT) return 'float32';
  if (elemType === DataType.FLOAT16) return 'float16';
  throw new UnsupportedDtypeError(`residual stream element type ${elemType} is not supported (float32 or float16 only)`);
}

/** What an operator sees while a site is assembled. */
export interface SiteContext {
  editor: GraphEditor;
  site: string;
  dtype: FloatDtype;
  /** The residual entering the site. */
  h0: string;
  /** Graph input name of this site's input of `kind`. */
  input(kind: HookInputKind): string;
  /** x·y summed over the last axis, keepdims. */
  dotLast(a: string, b: string, hint: string): string;
  /** Scalar constants of the residual's element type. */
  constant(name: 'one' | 'eps'): string;
}

export interface SiteOperator {
  kind: HookInputKind;
  /** Last-axis width of the operator's input. */
  width: 'hidden' | 1;
  /** Whether a file built with these options carries the operator. */
  built(options: { normPreserving?: boolean }): boolean;
  /** The residual after this operator, from the residual `x` before it. */
  apply(ctx: SiteContext, x: string): string;
}

/** Site operators in chain order. */
export const SITE_OPERATORS: readonly SiteOperator[] = [
  {
    kind: 'ablate',
    width: 'hidden',
    built: () => true,
    apply(ctx, x) {
      const r = ctx.input('ablate');
      const dot = ctx.dotLast(x, r, `${ctx.site}/ablate/dot`);
      const proj = ctx.editor.op('Mul', [dot, r], `${ctx.site}/ablate/proj`);
      return ctx.editor.op('Sub', [x, proj], `${ctx.site}/ablate/sub`);
    },
  },
  {
    kind: 'steer',
    width: 'hidden',
    built: () => true,
    apply(ctx, x) {
      return ctx.editor.op('Add', [x, ctx.input('steer')], `${ctx.site}/steer/add`);
    },
  },
  {
    kind: 'renorm',
    width: 1,
    built: (o) => o.normPreserving === true,
    apply(ctx, x) {
      const { editor, site } = ctx;
      const before = ctx.dotLast(ctx.h0, ctx.h0, `${site}/renorm/norm0`);
      const after = ctx.dotLast(x, x, `${site}/renorm/norm1`);
      const one = ctx.constant('one');
      const safe = editor.op('Max', [after, ctx.constant('eps')], `${site}/renorm/safe`);
      const ratio = editor.op('Sqrt', [editor.op('Div', [before, safe], `${site}/renorm/div`)], `${site}/renorm/ratio`);
      const gate = editor.op('Mul', [ctx.input('renorm'), editor.op('Sub', [ratio, one], `${site}/renorm/minus1`)], `${site}/renorm/gate`);
      const factor = editor.op('Add', [one, gate], `${site}/renorm/factor`);
      return editor.op('Mul', [x, factor], `${site}/renorm/scale`);
    },
  },
];

export function siteOperator(kind: HookInputKind): SiteOperator {
  const op = SITE_OPERATORS.find((o) => o.kind === kind);
  if (!op) throw new Error(`unknown hook operator ${kind}`);
  return op;
}

/** The graph input a site uses for an operator kind (undefined when the site lacks it). */
export function siteInput(site: HookSiteInfo, kind: HookInputKind): string | undefined {
  return kind === 'steer' ? site.steer : kind === 'ablate' ? site.ablate : site.renorm;
}

export interface AssembleOptions {
  dtype: FloatDtype;
  /** Operator kinds to apply (applied in chain order). */
  kinds: ReadonlySet<HookInputKind>;
  /** Input names by kind. */
  inputs: Partial<Record<HookInputKind, string>>;
  /** Name of the site's output (the capture). */
  output: string;
  /**
   * Fold a lone steering add into the residual `Add` that produces `h`
   * (`Sum(a, b, s)` in place of `Add(a, b)` + `Add(·, s)`) when `h` has no
   * other reader. Exact: the sum is (a + b) + s, as before.
   */
  fold?: boolean;
}

/**
 * Builds a site's operator chain on `h`, writing the result to
 * `options.output`. The caller rewires consumers; with no kinds the output is
 * an Identity of `h`.
 */
export function assembleSite(editor: GraphEditor, h: string, site: string, options: AssembleOptions): void {
  const ops = SITE_OPERATORS.filter((o) => options.kinds.has(o.kind));
  const elemType = elemTypeOf(options.dtype);
  const bytes = options.dtype === 'float16' ? 2 : 4;
  const ctx: SiteContext = {
    editor, site, dtype: options.dtype, h0: h,
    input(kind) {
      const name = options.inputs[kind];
      if (!name) throw new Error(`${site} has no ${kind} input`);
      return name;
    },
    dotLast(a, b, hint) {
      const prod = editor.op('Mul', [a, b], `${hint}/mul`);
      if (editor.opsetVersion('') >= 13) {
        if (!editor.initializer(AXES_NAME)) editor.addInitializer(int64Tensor(AXES_NAME, [1], [-1]));
        return editor.op('ReduceSum', [prod, AXES_NAME], `${hint}/sum`, { keepdims: 1 });
      }
      return editor.op('ReduceSum', [prod], `${hint}/sum`, { axes: [-1], keepdims: 1 });
    },
    constant(name) {
      return scalarConstants(editor, elemType, bytes)[name];
    },
  };
  const last = ops[ops.length - 1];
  if (options.fold && ops.length === 1 && last?.kind === 'steer' && foldSteer(editor, h, ctx.input('steer'), options.output)) return;
  let x = h;
  for (const op of ops) x = op.apply(ctx, x);
  // The last node writes the capture name directly (no extra Identity).
  const producer = x === h ? undefined : editor.producer(x);
  if (producer) {
    editor.renameOutput(producer, x, options.output);
  } else {
    editor.addNode('Identity', [x], [options.output], {}, { name: `${site}/identity` });
  }
}

/** Turns `h = Add(a, b)` into `out = Sum(a, b, s)` when nothing else reads `h`. */
function foldSteer(editor: GraphEditor, h: string, steer: string, out: string): boolean {
  const add = editor.producer(h);
  if (!add || add.opType !== 'Add' || (add.domain ?? '') !== '' || add.input.length !== 2 || add.output.length !== 1) return false;
  if (editor.uses(h).length > 0 || editor.isGraphOutput(h)) return false;
  const [a = '', b = ''] = add.input;
  editor.removeNode(add);
  editor.addNode('Sum', [a, b, steer], [out], {}, { name: add.name ? `${add.name}/steer_sum` : `${out}/steer_sum` });
  return true;
}

/** Inserts a hook site with every operator the options build, on disk-format inputs with zero defaults. */
export function insertHookSite(editor: GraphEditor, tensor: string, site: string, options: HookInsertOptions): HookSiteInfo {
  const { hiddenSize, dtype } = options;
  const elemType = elemTypeOf(dtype);
  const bytes = dtype === 'float16' ? 2 : 4;
  const names = siteTensorNames(site);
  const tag = site.replace(/[^A-Za-z0-9]+/g, '_');
  const inputs: Partial<Record<HookInputKind, string>> = {};
  const kinds = new Set<HookInputKind>();
  for (const op of SITE_OPERATORS) {
    if (!op.built(options)) continue;
    const name = op.kind === 'steer' ? names.steer : op.kind === 'ablate' ? names.ablate : `${site}.${op.kind}`;
    const width = op.width === 'hidden' ? hiddenSize : 1;
    const letter = op.kind === 'renorm' ? 'g' : op.kind[0] ?? 'x';
    editor.addInitializer(zerosTensor(name, elemType, [1, 1, width], bytes));
    editor.addInput(makeValueInfo(name, elemType, [`${tag}_${letter}b`, `${tag}_${letter}s`, width]));
    inputs[op.kind] = name;
    kinds.add(op.kind);
  }

  const previousUses = new Set(editor.uses(tensor).map((u) => u.node));
  assembleSite(editor, tensor, site, { dtype, kinds, inputs, output: names.capture });

  // Rewire the former consumers of h to h' (graph outputs keep their names).
  const skip = new Set(editor.uses(tensor).map((u) => u.node).filter((n) => !previousUses.has(n)));
  editor.replaceUses(tensor, names.capture, skip, { keepGraphOutputs: true });
  editor.addOutput(makeValueInfo(names.capture, elemType, ['batch', 'sequence', hiddenSize]));

  return {
    name: site, block: options.block, capture: names.capture, steer: names.steer, ablate: names.ablate,
    ...(inputs.renorm ? { renorm: inputs.renorm } : {}), sourceTensor: tensor,
  };
}

/** Shared scalar constants (1 and a small epsilon) of the residual's element type. */
function scalarConstants(editor: GraphEditor, elemType: number, bytes: number): { one: string; eps: string } {
  const one = `onnx_steer::one_${elemType}`;
  const eps = `onnx_steer::eps_${elemType}`;
  if (!editor.initializer(one)) {
    const make = (name: string, v: number) => {
      const raw = new Uint8Array(bytes);
      if (bytes === 2) new DataView(raw.buffer).setUint16(0, floatToHalf(v), true);
      else new DataView(raw.buffer).setFloat32(0, v, true);
      editor.addInitializer(makeTensor(name, elemType, [], raw));
    };
    make(one, 1);
    make(eps, bytes === 2 ? 1e-4 : 1e-12);
  }
  return { one, eps };
}
