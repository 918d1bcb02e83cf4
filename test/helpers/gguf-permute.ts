/** convert_hf_to_gguf.py's LlamaModel.permute (q and k rows reordered for llama.cpp's rope), written with explicit indices. */
export function permute(w: Float32Array, heads: number, rows: number, cols: number): Float32Array {
  const hd = rows / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) for (let a = 0; a < 2; a++) for (let j = 0; j < hd / 2; j++) {
    const src = h * hd + a * (hd / 2) + j;
    const dst = h * hd + j * 2 + a;
    for (let c = 0; c < cols; c++) out[dst * cols + c] = w[src * cols + c] as number;
  }
  return out;
}
