/** Shared constant initializers for graph builders: each distinct value is stored once. */
import { floatTensor, int64Tensor } from './attributes.js';
import type { GraphEditor } from './graph.js';

export class ConstantPool {
  private readonly editor: GraphEditor;
  private readonly names = new Map<string, string>();

  constructor(editor: GraphEditor) {
    this.editor = editor;
  }

  /** An int64 constant. `dims` defaults to a 1-D vector; [] makes a scalar. */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.get(`i64:${dims.join('x')}:${values.join(',')}`, `const_i64_${values.join('_').replace(/-/g, 'm')}${dims.length === 0 ? '_s' : ''}`, (name) => int64Tensor(name, dims, values));
  }

  /** A float32 scalar constant. */
  f32(value: number): string {
    return this.get(`f32:${value}`, `const_f32_${this.names.size}`, (name) => floatTensor(name, [], [value]));
  }

  private get(key: string, hint: string, make: (name: string) => Parameters<GraphEditor['addInitializer']>[0]): string {
    const hit = this.names.get(key);
    if (hit) return hit;
    const name = this.editor.uniqueName(hint);
    this.editor.addInitializer(make(name));
    this.names.set(key, name);
    return name;
  }
}
