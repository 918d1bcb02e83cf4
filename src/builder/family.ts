/**
 * What a model family contributes to the shared decoder skeleton: how its
 * checkpoint tensors become MatMul-layout initializers for one block, and
 * which norm and MLP ops it uses.
 */
export interface NormWeights { weight: string; bias?: string }

export interface BlockWeights {
  norm1: NormWeights;
  norm2: NormWeights;
  /** Packed q|k|v projection [hidden, (nH + 2·nKV)·hd], softmax scale folded into q. */
  qkv: string;
  qkvBias?: string;
  /** Output projection [nH·hd, hidden]. */
  out: string;
  outBias?: string;
  /** First MLP projection: packed gate|up [hidden, 2·I] (SwiGLU) or c_fc [hidden, I] (GELU). */
  mlpIn: string;
  mlpInBias?: string;
  /** Second MLP projection [I, hidden]. */
  mlpOut: string;
  mlpOutBias?: string;
}
