/**
 * Graph building on top of GraphEditor, shared by the decoder builder and the
 * BERT encoder: named ops, cached constants, float32 weights (inline, or
 * streamed to an external data file by a weight sink), and the small op
 * patterns blocks are made of (norms, GELU, rotary embedding, gated MLPs,
 * soft-capping).
 */
import { floatTensor } from './attributes.js';
import { ConstantPool } from './constants.js';
import type { GraphEditor } from './graph.js';
import type { TensorProto } from './proto.js';

/** Makes the initializer for a float32 weight (default: inline data). */
export type WeightSink = (name: string, dims: readonly number[], data: Float32Array) => TensorProto;

/** MLP activations: SiLU, GELU with the tanh approximation, exact (erf) GELU. */
export type ActivationOp = 'silu' | 'gelu_tanh' | 'gelu';

export interface GraphBuilderOptions {
  weights?: WeightSink;
  /** Called after each weight is added (progress). */
  onWeight?: () => void;
}

export class GraphBuilder {
  readonly editor: GraphEditor;
  private readonly sink: WeightSink;
  private readonly constants: ConstantPool;
  private readonly onWeight: () => void;

  constructor(editor: GraphEditor, options: GraphBuilderOptions = {}) {
    this.editor = editor;
    this.constants = new ConstantPool(editor);
    this.sink = options.weights ?? ((name, dims, data) => floatTensor(name, dims, data));
    this.onWeight = options.onWeight ?? (() => undefined);
  }

  op(opType: string, inputs: string[], hint: string, attrs: Parameters<GraphEditor['op']>[3] = {}, domain?: string): string {
    return this.editor.op(opType, inputs, hint, attrs, domain);
  }

  /** An int64 constant initializer (shared between uses). `dims` defaults to a 1-D vector; [] makes a scalar. */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.constants.i64(values, dims);
  }

  /** A float32 scalar constant. */
  f32(value: number): string {
    return this.constants.f32(value);
  }

  /** A float32 weight initializer, made by the weight sink. */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.editor.addInitializer(this.sink(name, dims, data));
    this.onWeight();
    return name;
  }

  /** y = x / sqrt(mean(x²) + eps) · w, via ORT's SimplifiedLayerNormalization (default domain). */
  rmsNorm(x: string, weight: string, eps: number, hint: string): string {
    return this.op('SimplifiedLayerNormalization', [x, weight], hint, { axis: -1, epsilon: { float: eps }, stash_type: 1 });
  }

  /** LayerNormalization with scale and bias over the last axis (opset 17). */
  layerNorm(x: string, weight: string, bias: string | undefined, eps: number, hint: string): string {
    return this.op('LayerNormalization', bias ? [x, weight, bias] : [x, weight], hint, { axis: -1, epsilon: { float: eps } });
  }

  /** GELU, tanh approximation (GPT-2 gelu_new) or exact (erf). */
  gelu(x: string, approximate: boolean, hint: string): string {
    const half = this.op('Mul', [x, this.f32(0.5)], `${hint}/half`);
    let inner: string;
    if (approximate) {
      const cube = this.op('Mul', [this.op('Mul', [x, x], `${hint}/square`), x], `${hint}/cube`);
      const sum = this.op('Add', [x, this.op('Mul', [cube, this.f32(0.044715)], `${hint}/cube_scaled`)], `${hint}/sum`);
      inner = this.op('Tanh', [this.op('Mul', [sum, this.f32(Math.sqrt(2 / Math.PI))], `${hint}/tanh_in`)], `${hint}/tanh`);
    } else {
      inner = this.op('Erf', [this.op('Mul', [x, this.f32(Math.SQRT1_2)], `${hint}/erf_in`)], `${hint}/erf`);
    }
    return this.op('Mul', [half, this.op('Add', [inner, this.f32(1)], `${hint}/one_plus`)], `${hint}/Mul`);
  }

  /** MatMul with an optional bias. */
  linear(x: string, weight: string, bias: string | undefined, hint: string): string {
    const y = this.op('MatMul', [x, weight], `${hint}/MatMul`);
    return bias ? this.op('Add', [y, bias], `${hint}/Add`) : y;
  }

  /**
   * Rotary embedding in the rotate_half convention on the last axis:
   * x·cos + concat(x2, x1)·sinSigned, where sinSigned = concat(−sin, sin).
   */
  rotary(x: string, cos: string, sinSigned: string, headDim: number, hint: string): string {
    const halves = this.i64([headDim / 2, headDim / 2]);
    const x1 = this.editor.uniqueName(`${hint}/x1`);
    const x2 = this.editor.uniqueName(`${hint}/x2`);
    this.editor.addNode('Split', [x, halves], [x1, x2], { axis: -1 }, { name: `${hint}/Split` });
    const swapped = this.op('Concat', [x2, x1], `${hint}/Concat`, { axis: -1 });
    const a = this.op('Mul', [x, cos], `${hint}/MulCos`);
    const b = this.op('Mul', [swapped, sinSigned], `${hint}/MulSin`);
    return this.op('Add', [a, b], `${hint}/Add`);
  }

  /** silu(gate) · up from a packed [.., 2·I] projection. */
  swiglu(gateUp: string, intermediate: number, hint: string): string {
    const gate = this.editor.uniqueName(`${hint}/gate`);
    const up = this.editor.uniqueName(`${hint}/up`);
    this.editor.addNode('Split', [gateUp, this.i64([intermediate, intermediate])], [gate, up], { axis: -1 }, { name: `${hint}/Split` });
    const sig = this.op('Sigmoid', [gate], `${hint}/Sigmoid`);
    const act = this.op('Mul', [gate, sig], `${hint}/Silu`);
    return this.op('Mul', [act, up], `${hint}/Mul`);
  }

  /** act(x) for a family's activation. */
  activation(x: string, act: ActivationOp, hint: string): string {
    if (act === 'silu') return this.op('Mul', [x, this.op('Sigmoid', [x], `${hint}/Sigmoid`)], `${hint}/Silu`);
    return this.gelu(x, act === 'gelu_tanh', hint);
  }

  /** act(gate) · up from a packed [.., 2·I] projection (SwiGLU for silu, GeGLU for GELU). */
  gated(gateUp: string, intermediate: number, act: ActivationOp, hint: string): string {
    if (act === 'silu') return this.swiglu(gateUp, intermediate, hint);
    const gate = this.editor.uniqueName(`${hint}/gate`);
    const up = this.editor.uniqueName(`${hint}/up`);
    this.editor.addNode('Split', [gateUp, this.i64([intermediate, intermediate])], [gate, up], { axis: -1 }, { name: `${hint}/Split` });
    return this.op('Mul', [this.activation(gate, act, `${hint}/gelu`), up], `${hint}/Mul`);
  }

  /** cap · tanh(x / cap) (Gemma2's soft-capping). */
  softcap(x: string, cap: number, hint: string): string {
    const t = this.op('Tanh', [this.op('Div', [x, this.f32(cap)], `${hint}/Div`)], `${hint}/Tanh`);
    return this.op('Mul', [t, this.f32(cap)], `${hint}/Mul`);
  }

  /** Splits along `axis` into named-by-hint outputs of the given sizes. */
  split(x: string, sizes: readonly number[], axis: number, hint: string, names: readonly string[]): string[] {
    const outs = names.map((n) => this.editor.uniqueName(`${hint}/${n}`));
    this.editor.addNode('Split', [x, this.i64(sizes)], outs, { axis }, { name: `${hint}/Split` });
    return outs;
  }
}
