/**
 * A mutable view over a GraphProto with producer/consumer indexes, used by the
 * builder and the instrumenter. Edits keep untouched nodes and initializers as
 * they were (the same objects), so unedited parts round-trip byte for byte.
 */
import { CorruptFileError, InvalidArgumentError } from '../errors.js';
import { makeAttribute, type AttrValue } from './attributes.js';
import { toNumber, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto.js';

export interface Use { node: NodeProto; index: number }

export class GraphEditor {
  readonly model: ModelProto;
  readonly graph: GraphProto;
  private producers = new Map<string, NodeProto>();
  private consumers = new Map<string, Use[]>();
  private initializers = new Map<string, TensorProto>();
  private names = new Set<string>();
  private nodeNames = new Set<string>();

  constructor(model: ModelProto) {
    if (!model.graph) throw new CorruptFileError('model', 'model has no graph');
    this.model = model;
    this.graph = model.graph;
    this.reindex();
  }

  /** Rebuilds the indexes from the graph (after bulk edits). */
  reindex(): void {
    this.producers.clear();
    this.consumers.clear();
    this.initializers.clear();
    this.names.clear();
    this.nodeNames.clear();
    for (const t of this.graph.initializer) {
      if (t.name) { this.initializers.set(t.name, t); this.names.add(t.name); }
    }
    for (const v of this.graph.input) if (v.name) this.names.add(v.name);
    for (const node of this.graph.node) this.indexNode(node);
  }

  private indexNode(node: NodeProto): void {
    if (node.name) this.nodeNames.add(node.name);
    for (const o of node.output) {
      if (o) { this.producers.set(o, node); this.names.add(o); }
    }
    node.input.forEach((name, index) => {
      if (!name) return;
      let list = this.consumers.get(name);
      if (!list) { list = []; this.consumers.set(name, list); }
      list.push({ node, index });
    });
  }

  opsetVersion(domain = ''): number {
    const entry = this.model.opsetImport.find((o) => (o.domain ?? '') === domain || (domain === '' && o.domain === 'ai.onnx'));
    return entry ? toNumber(entry.version) : 0;
  }

  ensureOpset(domain: string, version: number): void {
    if (this.opsetVersion(domain) === 0) this.model.opsetImport.push({ domain, version });
  }

  producer(tensor: string): NodeProto | undefined { return this.producers.get(tensor); }
  uses(tensor: string): readonly Use[] { return this.consumers.get(tensor) ?? []; }
  initializer(name: string): TensorProto | undefined { return this.initializers.get(name); }
  isGraphInput(name: string): boolean { return this.graph.input.some((v) => v.name === name); }
  isGraphOutput(name: string): boolean { return this.graph.output.some((v) => v.name === name); }
  has(name: string): boolean { return this.names.has(name); }

  /** A tensor name not yet used in the graph, derived from `base`. */
  uniqueName(base: string): string {
    if (!this.names.has(base)) { this.names.add(base); return base; }
    for (let i = 1; ; i++) {
      const n = `${base}_${i}`;
      if (!this.names.has(n)) { this.names.add(n); return n; }
    }
  }

  private uniqueNodeName(base: string): string {
    let n = base;
    for (let i = 1; this.nodeNames.has(n); i++) n = `${base}_${i}`;
    this.nodeNames.add(n);
    return n;
  }

  addNode(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}, options: { name?: string; domain?: string } = {}): NodeProto {
    const node: NodeProto = {
      opType,
      input: inputs,
      output: outputs,
      name: this.uniqueNodeName(options.name ?? `${opType}_${outputs[0] ?? ''}`),
      attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)),
    };
    if (options.domain) node.domain = options.domain;
    this.graph.node.push(node);
    for (const o of outputs) this.names.add(o);
    this.indexNode(node);
    return node;
  }

  /** Adds a node and returns its single output name (fresh, derived from `hint`). */
  op(opType: string, inputs: string[], hint: string, attrs: Record<string, AttrValue> = {}, domain?: string): string {
    const out = this.uniqueName(hint);
    this.addNode(opType, inputs, [out], attrs, domain ? { domain, name: hint } : { name: hint });
    return out;
  }

  addInitializer(tensor: TensorProto): string {
    if (!tensor.name) throw new InvalidArgumentError('an initializer needs a name');
    this.graph.initializer.push(tensor);
    this.initializers.set(tensor.name, tensor);
    this.names.add(tensor.name);
    return tensor.name;
  }

  addInput(info: ValueInfoProto): void { this.graph.input.push(info); if (info.name) this.names.add(info.name); }
  addOutput(info: ValueInfoProto): void { this.graph.output.push(info); }

  /** Points every consumer of `from` (and graph outputs named `from`) at `to`, except `skip` nodes. */
  replaceUses(from: string, to: string, skip: ReadonlySet<NodeProto> = new Set(), options: { keepGraphOutputs?: boolean } = {}): void {
    const list = this.consumers.get(from) ?? [];
    const kept: Use[] = [];
    const moved: Use[] = [];
    for (const use of list) {
      if (skip.has(use.node)) { kept.push(use); continue; }
      use.node.input[use.index] = to;
      moved.push(use);
    }
    this.consumers.set(from, kept);
    const target = this.consumers.get(to) ?? [];
    target.push(...moved);
    this.consumers.set(to, target);
    if (!options.keepGraphOutputs) for (const out of this.graph.output) if (out.name === from) out.name = to;
  }

  removeNode(node: NodeProto): void {
    const i = this.graph.node.indexOf(node);
    if (i >= 0) this.graph.node.splice(i, 1);
    for (const o of node.output) if (this.producers.get(o) === node) this.producers.delete(o);
    node.input.forEach((name) => {
      const list = this.consumers.get(name);
      if (list) this.consumers.set(name, list.filter((u) => u.node !== node));
    });
  }

  /** Reorders nodes topologically, keeping the existing order where it is already valid. */
  topologicalSort(): void {
    const state = new Map<NodeProto, 1 | 2>();
    const sorted: NodeProto[] = [];
    const visit = (root: NodeProto): void => {
      const stack: { node: NodeProto; next: number }[] = [{ node: root, next: 0 }];
      state.set(root, 1);
      while (stack.length > 0) {
        const top = stack[stack.length - 1] as { node: NodeProto; next: number };
        if (top.next < top.node.input.length) {
          const name = top.node.input[top.next++] ?? '';
          const dep = name ? this.producers.get(name) : undefined;
          if (!dep || dep === top.node) continue;
          const s = state.get(dep);
          if (s === 1) throw new CorruptFileError('graph', `graph has a cycle through ${dep.name ?? dep.opType ?? '?'}`);
          if (s === undefined) { state.set(dep, 1); stack.push({ node: dep, next: 0 }); }
          continue;
        }
        state.set(top.node, 2);
        sorted.push(top.node);
        stack.pop();
      }
    };
    for (const node of this.graph.node) if (!state.has(node)) visit(node);
    this.graph.node.length = 0;
    this.graph.node.push(...sorted);
  }
}

/** Tensor element type and shape of a value, when declared. */
export function valueType(v: ValueInfoProto | undefined): { elemType: number; dims: (number | string)[] } | undefined {
  const tt = v?.type?.tensorType;
  if (!tt) return undefined;
  const dims = (tt.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : '?'));
  return { elemType: tt.elemType ?? 0, dims };
}

export function makeValueInfo(name: string, elemType: number, dims: readonly (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** An empty opset-17 model produced by this library, for graph builders to fill. */
export function emptyModel(graphName: string, producer: { name: string; version: string }): ModelProto {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: producer.name,
    producerVersion: producer.version,
    graph: { name: graphName, node: [], initializer: [], input: [], output: [], valueInfo: [] },
    metadataProps: [],
  };
}
